fn main() -> std::process::ExitCode {
    g1_nodes::node_main("g1_teleop")
}
