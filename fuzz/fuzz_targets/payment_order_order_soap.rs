#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tradewire_fuzz::payment_order_order_soap(data));
