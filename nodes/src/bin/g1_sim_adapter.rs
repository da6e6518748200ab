#![warn(clippy::unwrap_used, clippy::expect_used)]
fn main() -> std::process::ExitCode {
    // Names its own constructor, so the executable links only this node's code.
    g1_nodes::node_main_with("g1_sim_adapter", |r| {
        Ok(Box::new(g1_nodes::sim_adapter_node::SimAdapterNode::new(
            r,
        )?))
    })
}
