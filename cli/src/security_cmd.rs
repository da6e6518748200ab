//! `g1d security`: SROS2-layout keystores and enclaves for the suite's DDS Security.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use g1_ros::security::{create_enclave, create_keystore, list_enclaves, Permissions};

#[derive(Subcommand)]
pub enum SecurityCommand {
    /// Create a keystore: one CA for identities and permissions, and the signed governance
    /// (no unauthenticated participants; access control; RTPS messages encrypted).
    CreateKeystore {
        /// The keystore directory (must not exist or be empty).
        keystore: PathBuf,
    },
    /// Create an enclave: key, certificate `CN=<enclave>` and signed permissions.
    CreateEnclave {
        keystore: PathBuf,
        /// Absolute enclave name, e.g. /g1_diffusion (the suite's default) or /operator.
        enclave: String,
        /// DDS topics the enclave may publish: globs, comma-separated (ROS topic /x is DDS
        /// topic rt/x; the robot's are rt/lowcmd and rt/lowstate). Default: all.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        publish: Vec<String>,
        /// DDS topics the enclave may subscribe to (as --publish). Default: all.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        subscribe: Vec<String>,
    },
    /// List a keystore's enclaves.
    ListEnclaves { keystore: PathBuf },
}

pub fn run(c: SecurityCommand) -> Result<()> {
    match c {
        SecurityCommand::CreateKeystore { keystore } => {
            create_keystore(&keystore)?;
            println!("keystore {}", keystore.display());
            println!(
                "next: g1d security create-enclave {} /g1_diffusion",
                keystore.display()
            );
        }
        SecurityCommand::CreateEnclave {
            keystore,
            enclave,
            publish,
            subscribe,
        } => {
            let clean = |v: Vec<String>| -> Vec<String> {
                v.into_iter()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect()
            };
            let dir = create_enclave(
                &keystore,
                &enclave,
                &Permissions {
                    publish: clean(publish),
                    subscribe: clean(subscribe),
                },
            )?;
            println!("enclave {enclave} in {}", dir.display());
            println!(
                "use: ROS_SECURITY_ENABLE=true ROS_SECURITY_STRATEGY=Enforce ROS_SECURITY_KEYSTORE={} \
                 (and --enclave {enclave} / --ros-args --enclave {enclave})",
                keystore.display()
            );
        }
        SecurityCommand::ListEnclaves { keystore } => {
            for e in list_enclaves(&keystore)? {
                println!("{e}");
            }
        }
    }
    Ok(())
}
