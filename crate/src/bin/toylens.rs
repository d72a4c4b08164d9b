#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    tune_malloc();
    toylens::cli::main()
}

/// burn-flex allocates a fresh buffer for every op; glibc hands big ones back to the OS on
/// free, so training spent ~40% of its time in page faults (perf). Keeping them mapped
/// triples majority's steps/s.
#[cfg(not(target_arch = "wasm32"))]
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

// The CLI is native-only; wasm32 builds of the package still build every target.
#[cfg(target_arch = "wasm32")]
fn main() {}
