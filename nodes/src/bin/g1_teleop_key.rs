#![warn(clippy::unwrap_used, clippy::expect_used)]
fn main() -> std::process::ExitCode {
    // Names its own constructor, so the executable links only this node's code.
    g1_nodes::node_main_with("g1_teleop_key", |r| {
        Ok(Box::new(g1_nodes::teleop_node::TeleopNode::new(
            r,
            "g1_teleop_key",
        )?))
    })
}
