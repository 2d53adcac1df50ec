#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tradewire_fuzz::csv_catalogue_catalogue(data));
