//! The export macro.

/// Exports an [`Adapter`](crate::Adapter) both ways it can ship:
///
/// - as the root module of a dynamic library, under the symbol
///   `tradewire_adapter_root__<crate name>` (build the crate with
///   `crate-type = ["rlib", "cdylib"]`);
/// - as a built-in, registered with `inventory` when the crate is linked into a host.
///
/// Every call into the adapter runs under `catch_unwind`: a panic becomes an error
/// diagnostic, never an abort of the host.
///
/// ```ignore
/// tradewire_sdk::export_adapter!(CsvCatalogue);
/// ```
#[macro_export]
macro_rules! export_adapter {
    ($adapter:ty) => {
        const _: () = {
            use $crate::__private::{CheckTypeLayout, LibHeader, RootModuleResult};

            extern "C" fn __tradewire_load_root_module() -> RootModuleResult {
                $crate::__private::call_root_module_loader(|| {
                    // Runs only when the library is loaded dynamically: its own copy of
                    // std must not print panics to the host's stderr.
                    $crate::glue::install_quiet_panic_hook();
                    $crate::glue::module::<$adapter>()
                })
            }

            #[unsafe(export_name = concat!("tradewire_adapter_root__", env!("CARGO_CRATE_NAME")))]
            static __TRADEWIRE_ADAPTER_ROOT: LibHeader = unsafe {
                // SAFETY: the constructor returns the `AdapterModRef` this header is typed with.
                LibHeader::from_constructor::<$crate::abi::AdapterModRef>(
                    __tradewire_load_root_module,
                    CheckTypeLayout::Yes,
                )
            };

            $crate::__private::inventory::submit! {
                $crate::Builtin::of::<$adapter>()
            }
        };
    };
}
