//! `g1d bag info|repair`.

use std::path::PathBuf;

use anyhow::Result;

#[derive(clap::Subcommand)]
pub enum BagCommand {
    /// What a bag holds (read from the MCAP file itself), like `ros2 bag info`.
    Info { bag: PathBuf },
    /// Make a bag cut short by a crash complete again (summary, footer, metadata.yaml).
    Repair { bag: PathBuf },
}

pub fn cmd_bag(c: BagCommand) -> Result<()> {
    match c {
        BagCommand::Info { bag } => {
            let i = g1_bag::info(&bag)?;
            print!("{i}");
        }
        BagCommand::Repair { bag } => {
            let r = g1_bag::repair(&bag)?;
            if !r.rewritten {
                println!(
                    "{}: complete and consistent ({} messages); nothing to do",
                    bag.display(),
                    r.messages_kept
                );
            } else {
                println!(
                    "{}: rewritten with {} messages{}",
                    bag.display(),
                    r.messages_kept,
                    match &r.dropped_tail {
                        Some(t) => format!(
                            " (dropped an unreadable tail: {t}; original kept as *.damaged)"
                        ),
                        None => String::new(),
                    }
                );
                for c in &r.dropped_chunks {
                    println!("  dropped damaged {c}: its messages are lost");
                }
                if !r.dropped_chunks.is_empty() {
                    println!("  original kept as *.damaged");
                }
            }
        }
    }
    Ok(())
}
