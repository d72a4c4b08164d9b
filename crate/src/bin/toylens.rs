#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    toylens::cli::main()
}

// The CLI is native-only; wasm32 builds of the package still build every target.
#[cfg(target_arch = "wasm32")]
fn main() {}
