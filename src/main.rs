fn main() {
    std::process::exit(drbook::cli::main())
}
