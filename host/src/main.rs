fn main() -> std::process::ExitCode {
    tradewire_host::cli::main()
}
