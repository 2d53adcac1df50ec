//! The adapters linked into `tradewire`. Each crate registers itself with `inventory`;
//! naming it here is what makes rustc link it (an unnamed dependency is dropped, and its
//! registration with it).

use tradewire_econnecteur as _;
use tradewire_oci_punchout as _;
use tradewire_ois_orders as _;
use tradewire_payment_order as _;
