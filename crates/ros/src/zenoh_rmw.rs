//! The nodes on Zenoh the way rmw_zenoh (`RMW_IMPLEMENTATION=rmw_zenoh_cpp`) puts ROS 2 on
//! it, so that ROS 2 nodes on rmw_zenoh and other Zenoh applications talk with the suite
//! through a Zenoh router:
//!
//! * a message of type `pkg/msg/T` on topic `/a/b` in domain `D` is a `put` on the key
//!   `D/a/b/pkg::msg::dds_::T_/RIHS01_<hash>` (the type's REP-2016 hash, computed from its
//!   definition: [`g1_msgs::type_hash`]), its payload CDR with the encapsulation header, its
//!   attachment the sequence number, the source timestamp and the publisher's GID;
//! * subscriptions listen with any hash (`*`), as rmw_zenoh's receivers accept any;
//! * every node, publisher and subscription holds a liveliness token
//!   `@ros2_lv/D/<session>/<node>/<entity>/<NN|MP|MS>/<enclave>/<ns>/<node name>[/<topic>/
//!   <type>/<hash>/<qos>]` (names with `/` as `%`), from which ROS 2 tools build the graph.
//!
//! The session is rmw_zenoh's default: a peer that connects to the router at
//! `tcp/localhost:7447`, listens on loopback, multicast scouting off; `ZENOH_SESSION_CONFIG_URI`
//! (a JSON5 file) and `ZENOH_CONFIG_OVERRIDE` (`key=value;…`) change it, as with rmw_zenoh.
//! What the DDS side has beyond publish/subscribe and `/rosout` (services, DDS Security,
//! transient-local history for late joiners) is not offered on Zenoh.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{anyhow, Context as _, Result};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use zenoh::Wait;

use g1_msgs::type_hash::rihs01;
use g1_msgs::Message;

use crate::dds::QosPreset;
use crate::raw::dds_type_name;

/// The liveliness tokens' key prefix.
pub const ADMIN_SPACE: &str = "@ros2_lv";

/// A name in a liveliness key: `/` becomes `%`; empty is `%`.
pub fn mangle(name: &str) -> String {
    if name.is_empty() {
        "%".into()
    } else {
        name.replace('/', "%")
    }
}

/// The data key of a topic.
pub fn topic_key(domain: u16, topic: &str, dds_type: &str, hash: &str) -> String {
    format!("{domain}/{}/{dds_type}/{hash}", topic.trim_matches('/'))
}

/// rmw_zenoh's QoS field of a liveliness key (reliability:durability:history,depth:deadline:
/// lifespan:liveliness; defaults left empty).
pub fn qos_field(q: QosPreset) -> String {
    let (rel, dur) = match q {
        QosPreset::Sensor | QosPreset::Record => ("2", ""),
        QosPreset::Command => ("", ""),
        QosPreset::Latched => ("", "1"),
    };
    format!("{rel}:{dur}:,{}:,:,:,,", q.depth())
}

/// The attachment rmw_zenoh sends with every message.
pub fn attachment(seq: i64, source_timestamp_ns: i64, gid: &[u8; 16]) -> Vec<u8> {
    let mut a = Vec::with_capacity(33);
    a.extend_from_slice(&seq.to_le_bytes());
    a.extend_from_slice(&source_timestamp_ns.to_le_bytes());
    a.push(16); // the array's length, a varint
    a.extend_from_slice(gid);
    a
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The session's configuration from the environment (see the module's documentation).
pub fn config_from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<zenoh::Config> {
    let mut config = match get("ZENOH_SESSION_CONFIG_URI").filter(|s| !s.trim().is_empty()) {
        Some(f) => zenoh::Config::from_file(f.trim())
            .map_err(|e| anyhow!("ZENOH_SESSION_CONFIG_URI={f}: {e}"))?,
        None => {
            let mut c = zenoh::Config::default();
            for (k, v) in [
                ("mode", "\"peer\""),
                ("connect/endpoints", "[\"tcp/localhost:7447\"]"),
                ("listen/endpoints", "[\"tcp/127.0.0.1:0\"]"),
                ("scouting/multicast/enabled", "false"),
            ] {
                c.insert_json5(k, v)
                    .map_err(|e| anyhow!("zenoh configuration {k}: {e}"))?;
            }
            c
        }
    };
    if let Some(o) = get("ZENOH_CONFIG_OVERRIDE") {
        for entry in o.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = entry
                .split_once('=')
                .with_context(|| format!("ZENOH_CONFIG_OVERRIDE: `{entry}` is not key=value"))?;
            config
                .insert_json5(k.trim(), v.trim())
                .map_err(|e| anyhow!("ZENOH_CONFIG_OVERRIDE `{entry}`: {e}"))?;
        }
    }
    Ok(config)
}

/// A Zenoh session shared by the nodes of a process.
#[derive(Clone)]
pub struct ZenohCtx {
    session: zenoh::Session,
    domain: u16,
    next_node: Arc<AtomicU64>,
}

impl ZenohCtx {
    pub fn open(domain: u16, get: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let config = config_from_env(get)?;
        let session = zenoh::open(config)
            .wait()
            .map_err(|e| anyhow!("opening the Zenoh session (rmw_zenoh): {e}"))?;
        Ok(Self {
            session,
            domain,
            next_node: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn zid(&self) -> String {
        self.session.zid().to_string()
    }
}

/// One node on Zenoh: its liveliness token and the entities it declares.
pub struct ZenohNode {
    ctx: ZenohCtx,
    node_id: u64,
    next_entity: AtomicU64,
    namespace: String,
    name: String,
    _token: zenoh::liveliness::LivelinessToken,
}

fn declare_token(ctx: &ZenohCtx, key: &str) -> Result<zenoh::liveliness::LivelinessToken> {
    ctx.session
        .liveliness()
        .declare_token(key.to_string())
        .wait()
        .map_err(|e| anyhow!("liveliness token {key}: {e}"))
}

impl ZenohNode {
    pub fn new(ctx: &ZenohCtx, namespace: &str, name: &str) -> Result<Self> {
        let node_id = ctx.next_node.fetch_add(1, Ordering::Relaxed);
        let key = format!(
            "{ADMIN_SPACE}/{}/{}/{node_id}/{node_id}/NN/%/{}/{}",
            ctx.domain,
            ctx.zid(),
            mangle(namespace),
            mangle(name)
        );
        Ok(Self {
            _token: declare_token(ctx, &key)?,
            ctx: ctx.clone(),
            node_id,
            next_entity: AtomicU64::new(1),
            namespace: namespace.into(),
            name: name.into(),
        })
    }

    fn entity_key(
        &self,
        kind: &str,
        topic: &str,
        dds_type: &str,
        hash: &str,
        qos: QosPreset,
    ) -> String {
        let eid = self.next_entity.fetch_add(1, Ordering::Relaxed);
        format!(
            "{ADMIN_SPACE}/{}/{}/{}/{eid}/{kind}/%/{}/{}/{}/{dds_type}/{hash}/{}",
            self.ctx.domain,
            self.ctx.zid(),
            self.node_id,
            mangle(&self.namespace),
            mangle(&self.name),
            mangle(topic),
            qos_field(qos)
        )
    }

    /// A publisher of `M` on the resolved `topic` (its key and token carry `M`'s REP-2016
    /// hash).
    pub fn publisher<M: Message>(&self, topic: &str, qos: QosPreset) -> Result<ZenohPublisher> {
        let (dds_type, hash) = (&dds_type_name(M::TYPE_NAME)?, &rihs01::<M>());
        let key = topic_key(self.ctx.domain, topic, dds_type, hash);
        let token_key = self.entity_key("MP", topic, dds_type, hash, qos);
        let gid: [u8; 16] = {
            let d = Sha256::digest(token_key.as_bytes());
            let mut g = [0u8; 16];
            g.copy_from_slice(&d[..16]);
            g
        };
        let publisher = self
            .ctx
            .session
            .declare_publisher(key.clone())
            .wait()
            .map_err(|e| anyhow!("Zenoh publisher {key}: {e}"))?;
        Ok(ZenohPublisher {
            publisher,
            seq: AtomicI64::new(0),
            gid,
            _token: declare_token(&self.ctx, &token_key)?,
        })
    }

    /// A subscription to `M` on the resolved `topic` (any type hash), keeping the newest
    /// samples (the preset's depth) until taken.
    pub fn subscription<M: Message>(
        &self,
        topic: &str,
        qos: QosPreset,
    ) -> Result<ZenohSubscription<M>> {
        let (dds_type, hash) = (&dds_type_name(M::TYPE_NAME)?, &rihs01::<M>());
        let key = topic_key(self.ctx.domain, topic, dds_type, "*");
        let depth = qos.depth();
        let queue: Arc<Mutex<VecDeque<Vec<u8>>>> = Arc::new(Mutex::new(VecDeque::new()));
        let q = queue.clone();
        let subscriber = self
            .ctx
            .session
            .declare_subscriber(key.clone())
            .callback(move |sample| {
                let bytes = sample.payload().to_bytes().into_owned();
                let mut q = q.lock().unwrap_or_else(PoisonError::into_inner);
                q.push_back(bytes);
                while q.len() > depth {
                    q.pop_front();
                }
            })
            .wait()
            .map_err(|e| anyhow!("Zenoh subscription {key}: {e}"))?;
        let token_key = self.entity_key("MS", topic, dds_type, hash, qos);
        Ok(ZenohSubscription {
            queue,
            _subscriber: subscriber,
            _token: declare_token(&self.ctx, &token_key)?,
            _m: PhantomData,
        })
    }
}

/// A Zenoh publisher of CDR messages.
pub struct ZenohPublisher {
    publisher: zenoh::pubsub::Publisher<'static>,
    seq: AtomicI64,
    gid: [u8; 16],
    _token: zenoh::liveliness::LivelinessToken,
}

impl ZenohPublisher {
    /// Puts one message, CDR-encoded (little-endian, with the encapsulation header).
    pub fn publish<M: Serialize>(&self, m: &M) -> Result<()> {
        let mut bytes = vec![0x00, 0x01, 0x00, 0x00];
        ros2_client::dds::rustdds::serialization::to_writer_with_rep_id(
            &mut bytes,
            m,
            ros2_client::dds::rustdds::RepresentationIdentifier::CDR_LE,
        )
        .map_err(|e| anyhow!("encoding: {e}"))?;
        // `to_writer_with_rep_id` writes the body only; the header is ours.
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.publisher
            .put(bytes)
            .attachment(attachment(seq, now_ns(), &self.gid))
            .wait()
            .map_err(|e| anyhow!("Zenoh put: {e}"))
    }
}

/// A Zenoh subscription's received payloads, decoded when taken.
pub struct ZenohSubscription<M> {
    queue: Arc<Mutex<VecDeque<Vec<u8>>>>,
    _subscriber: zenoh::pubsub::Subscriber<()>,
    _token: zenoh::liveliness::LivelinessToken,
    _m: PhantomData<fn() -> M>,
}

/// Decodes a CDR payload with its encapsulation header.
pub fn decode_cdr<M: DeserializeOwned>(bytes: &[u8]) -> Result<M> {
    use ros2_client::dds::rustdds::RepresentationIdentifier as R;
    let (head, body) = bytes
        .split_at_checked(4)
        .context("a payload shorter than its CDR header")?;
    let rep = match [head[0], head[1]] {
        [0x00, 0x01] => R::CDR_LE,
        [0x00, 0x00] => R::CDR_BE,
        other => anyhow::bail!("not CDR (encapsulation {other:02x?})"),
    };
    let (m, _) =
        ros2_client::dds::rustdds::serialization::deserialize_from_cdr_with_rep_id::<M>(body, rep)
            .map_err(|e| anyhow!("decoding: {e}"))?;
    Ok(m)
}

impl<M: DeserializeOwned> ZenohSubscription<M> {
    /// The oldest waiting message (`Err`: one that could not be decoded, dropped).
    pub fn take(&self) -> Result<Option<M>> {
        let next = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        next.map(|b| decode_cdr(&b)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_attachments_as_rmw_zenoh_writes_them() {
        assert_eq!(
            topic_key(
                3,
                "/robot/joint_states",
                "sensor_msgs::msg::dds_::JointState_",
                "RIHS01_x"
            ),
            "3/robot/joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_x"
        );
        assert_eq!(mangle("/robot/joint_states"), "%robot%joint_states");
        assert_eq!(mangle(""), "%");
        assert_eq!(qos_field(QosPreset::Command), "::,10:,:,:,,");
        assert_eq!(qos_field(QosPreset::Sensor), "2::,1:,:,:,,");
        let a = attachment(7, 0x0102_0304_0506_0708, &[0xab; 16]);
        assert_eq!(a.len(), 33);
        assert_eq!(&a[..8], &7i64.to_le_bytes());
        assert_eq!(a[16], 16);
    }

    #[test]
    fn the_environment_configures_the_session() {
        let env = |k: &str| match k {
            "ZENOH_CONFIG_OVERRIDE" => {
                Some("connect/endpoints=[\"tcp/127.0.0.1:7999\"]; mode=\"client\"".to_string())
            }
            _ => None,
        };
        let c = config_from_env(&env).unwrap();
        let s = format!("{c}");
        assert!(s.contains("7999"), "{s}");
        let bad = |k: &str| (k == "ZENOH_CONFIG_OVERRIDE").then(|| "mode".to_string());
        assert!(config_from_env(&bad).is_err());
    }
}
