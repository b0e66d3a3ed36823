//! `uniffi-bindgen generate <library> --language kotlin|swift --out-dir <dir>`: see `scripts/ffi-bindings`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
