//! Fuzz target: any bytes (optionally `aliases\0message`) must parse without panicking and keep the
//! invariants of SPEC §3.
#![no_main]

#[path = "../fuzz_input.rs"]
mod fuzz_input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((aliases, message)) = fuzz_input::split_input(data) {
        fuzz_input::check_invariants(message, &aliases);
    }
});
