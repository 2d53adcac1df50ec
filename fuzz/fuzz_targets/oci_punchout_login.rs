#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tradewire_fuzz::oci_punchout_login(data));
