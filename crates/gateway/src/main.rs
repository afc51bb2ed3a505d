//! The `dentex` binary: see `dentex --help`.

fn main() {
    std::process::exit(dentex_gateway::cli::main());
}
