#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    tune_malloc();
    quiet_broken_pipe();
    toylens::cli::main()
}

/// burn-flex allocates a fresh buffer for every op; glibc serves big ones with mmap and hands
/// them back on free, so training spent ~40% of its time in page faults (perf). Serving every
/// allocation from the heap and never trimming it triples majority's steps/s and doubles min's
/// (whose 77 MB logits are past any mmap threshold glibc accepts).
#[cfg(not(target_arch = "wasm32"))]
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Rust ignores SIGPIPE, so `toylens info x.pt | head` made println! panic once head had
/// closed the pipe; the default action ends the process quietly, as Unix tools do.
#[cfg(not(target_arch = "wasm32"))]
fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: resets one signal's disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

// The CLI is native-only; wasm32 builds of the package still build every target.
#[cfg(target_arch = "wasm32")]
fn main() {}
