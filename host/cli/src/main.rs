mod cli;
mod pipeline;

fn main() -> std::process::ExitCode {
    cli::main()
}
