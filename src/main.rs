//! The `drbook` binary: everything lives in the library; see `drbook::cli`.

/// A runbook of 100,000 steps makes millions of small allocations; mimalloc serves them
/// markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(drbook::cli::main())
}
