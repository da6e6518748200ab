//! The DDS side: `ros2-client` (on RustDDS) behind a small API, with what it lacks closed here —
//! the domain from `ROS_DOMAIN_ID`, localhost-only or chosen interfaces, DDS Security, names
//! and remaps resolved by
//! [`NodeNames`], and QoS presets. No other crate of the project sees `ros2-client`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use g1_msgs::Message;
use ros2_client::qos::{Durability, History, Reliability, WhenFull};
use ros2_client::{Context, MessageTypeName, Name, Node, NodeName, NodeOptions, QosProfile};
use rustdds::DomainParticipantBuilder;
use serde::{de::DeserializeOwned, Serialize};

use crate::env::{DdsEnv, DiscoveryRange};
use crate::{NodeContext, SecurityEnv};

use crate::env::Rmw;

enum PubInner<M: Serialize> {
    Dds(Box<ros2_client::Publisher<M>>),
    #[cfg(feature = "zenoh")]
    Zenoh(crate::zenoh_rmw::ZenohPublisher),
}

/// A publisher that counts its failed writes on its node's counter (nodes report it on
/// `/diagnostics` and in their run report).
pub struct Publisher<M: Serialize> {
    inner: PubInner<M>,
    topic: String,
    failures: Arc<AtomicU64>,
}

impl<M: Serialize> Publisher<M> {
    /// Writes `m`; a failure is counted and returned (callers that cannot act on it drop it:
    /// the count stays).
    pub fn publish(&self, m: M) -> Result<()> {
        let ok = match &self.inner {
            PubInner::Dds(p) => p.publish(m).is_ok(),
            #[cfg(feature = "zenoh")]
            PubInner::Zenoh(p) => p.publish(&m).is_ok(),
        };
        if ok {
            Ok(())
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
            anyhow::bail!("writing {} failed", self.topic)
        }
    }
}

enum SubInner<M> {
    Dds(Box<ros2_client::Subscription<M>>),
    #[cfg(feature = "zenoh")]
    Zenoh(crate::zenoh_rmw::ZenohSubscription<M>),
}

/// A subscription on either middleware ([`take_all`], [`wait_for`]).
pub struct Subscription<M> {
    inner: SubInner<M>,
}

impl<M: DeserializeOwned + 'static> Subscription<M> {
    /// The oldest waiting message; `Err` for one that could not be read (it is dropped).
    pub fn take(&self) -> Result<Option<M>> {
        match &self.inner {
            SubInner::Dds(s) => s
                .take()
                .map(|o| o.map(|(m, _)| m))
                .map_err(|e| anyhow!("{e:?}")),
            #[cfg(feature = "zenoh")]
            SubInner::Zenoh(s) => s.take(),
        }
    }
}

/// QoS presets (ROS 2 conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QosPreset {
    /// High-rate sensor streams (`rt/lowstate`, `/joint_states`, `/imu`): best effort,
    /// keep last 1 (rclcpp's SensorDataQoS uses depth 5; 1 = always the newest).
    Sensor,
    /// Commands and targets (`rt/lowcmd`, joint targets, goals): reliable, keep last 10.
    Command,
    /// Reliable, transient-local, keep last 1: obstacle sets, static transforms, markers a
    /// late RViz should still get.
    Latched,
    /// Recording: best effort (it matches reliable and best-effort writers alike), keep last
    /// 500, so a recorder draining every 10 ms loses nothing of a 500 Hz stream.
    Record,
}

impl QosPreset {
    /// The history depth (keep last).
    pub fn depth(self) -> usize {
        match self {
            Self::Sensor | Self::Latched => 1,
            Self::Command => 10,
            Self::Record => 500,
        }
    }

    pub fn profile(self) -> QosProfile {
        let base = QosProfile::publisher_default().durability(Durability::Volatile);
        match self {
            Self::Sensor => base
                .reliability(Reliability::BestEffort)
                .history(History::KeepLast {
                    depth: self.depth(),
                }),
            Self::Command => base
                .reliability(Reliability::Reliable {
                    when_full: WhenFull::Wait(Duration::from_millis(10)),
                })
                .history(History::KeepLast {
                    depth: self.depth(),
                }),
            Self::Latched => base
                .reliability(Reliability::Reliable {
                    when_full: WhenFull::Wait(Duration::from_millis(10)),
                })
                .durability(Durability::TransientLocal)
                .history(History::KeepLast {
                    depth: self.depth(),
                }),
            Self::Record => base
                .reliability(Reliability::BestEffort)
                .history(History::KeepLast {
                    depth: self.depth(),
                }),
        }
    }
}

#[derive(Clone)]
enum Transport {
    Dds(Context),
    #[cfg(feature = "zenoh")]
    Zenoh(crate::zenoh_rmw::ZenohCtx),
}

/// A DDS participant (the composed nodes of a process share one unless secured or restricted),
/// or with `RMW_IMPLEMENTATION=rmw_zenoh_cpp` a Zenoh session.
#[derive(Clone)]
pub struct Dds {
    transport: Transport,
    pub env: DdsEnv,
    /// Whether DDS Security is on for this participant.
    pub secured: bool,
}

impl Dds {
    /// An unsecured participant (tests, tools).
    pub fn new(env: DdsEnv) -> Result<Self> {
        Self::open(&env, None)
    }

    /// The process's participant: secured with the enclave's credentials when `security` is
    /// given (DDS Security's built-in authentication, access control and cryptography, which
    /// needs the `security` feature of this crate).
    pub fn open(env: &DdsEnv, security: Option<&SecurityEnv>) -> Result<Self> {
        if env.rmw == Rmw::Zenoh {
            return Self::open_zenoh(env, security);
        }
        #[allow(unused_mut)]
        let mut b = DomainParticipantBuilder::new(env.domain_id);
        if let Some(s) = security {
            #[cfg(feature = "security")]
            {
                // Keys are written unencrypted (as SROS2 does); RustDDS ignores the password.
                b = b.builtin_security(
                    rustdds::DomainParticipantSecurityConfigFiles::with_ros_default_names(
                        &s.dir,
                        String::new(),
                    ),
                );
            }
            #[cfg(not(feature = "security"))]
            anyhow::bail!(
                "ROS_SECURITY_ENABLE=true (enclave {}), but this build has no DDS Security: \
                 build with the `security` feature",
                s.enclave
            );
        }
        if let Some(addrs) = env.restricted_to()? {
            // RustDDS restricts multicast and the advertised locators to these addresses (its
            // receive sockets still listen on all interfaces — see the README's threat model).
            b = b.with_only_networks(addrs);
        }
        if env.range == DiscoveryRange::Off {
            anyhow::bail!("ROS_AUTOMATIC_DISCOVERY_RANGE=OFF: this node would talk to no one");
        }
        let participant = b.build().map_err(|e| match security {
            Some(s) => anyhow!(
                "creating the secured DDS participant (domain {}, enclave {} in {}): {e:?}",
                env.domain_id,
                s.enclave,
                s.dir.display()
            ),
            None => anyhow!(
                "creating the DDS participant (domain {}): {e:?}",
                env.domain_id
            ),
        })?;
        let ctx = Context::from_domain_participant(participant)
            .map_err(|e| anyhow!("ROS 2 context: {e:?}"))?;
        Ok(Self {
            transport: Transport::Dds(ctx),
            env: env.clone(),
            secured: security.is_some(),
        })
    }

    #[cfg(feature = "zenoh")]
    fn open_zenoh(env: &DdsEnv, security: Option<&SecurityEnv>) -> Result<Self> {
        if security.is_some() {
            anyhow::bail!(
                "ROS_SECURITY_ENABLE=true with RMW_IMPLEMENTATION=rmw_zenoh_cpp: this suite's \
                 security is DDS Security; use a DDS rmw (or turn security off)"
            );
        }
        let z = crate::zenoh_rmw::ZenohCtx::open(env.domain_id, &crate::env::from_process())?;
        Ok(Self {
            transport: Transport::Zenoh(z),
            env: env.clone(),
            secured: false,
        })
    }

    #[cfg(not(feature = "zenoh"))]
    fn open_zenoh(_env: &DdsEnv, _security: Option<&SecurityEnv>) -> Result<Self> {
        anyhow::bail!(
            "RMW_IMPLEMENTATION=rmw_zenoh_cpp, but this build has no Zenoh (g1-ros' `zenoh` \
             feature)"
        )
    }

    /// Whether the transport is DDS (services, `/rosout`, security and raw writers need it).
    pub fn is_dds(&self) -> bool {
        matches!(self.transport, Transport::Dds(_))
    }

    fn dds_context(&self) -> Result<&Context> {
        match &self.transport {
            Transport::Dds(c) => Ok(c),
            #[cfg(feature = "zenoh")]
            Transport::Zenoh(_) => anyhow::bail!(
                "this needs DDS; with RMW_IMPLEMENTATION=rmw_zenoh_cpp only topics are offered"
            ),
        }
    }
}

impl DdsEnv {
    /// The addresses DDS is restricted to: loopback for `ROS_LOCALHOST_ONLY`, the IPv4
    /// addresses of `G1_DDS_INTERFACES`, or `None` (every interface).
    pub fn restricted_to(&self) -> Result<Option<Vec<std::net::IpAddr>>> {
        use std::net::{IpAddr, Ipv4Addr};
        if self.range == DiscoveryRange::Localhost {
            return Ok(Some(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]));
        }
        if self.interfaces.is_empty() {
            return Ok(None);
        }
        let all = netdev::get_interfaces();
        let mut out = Vec::new();
        for want in &self.interfaces {
            if let Ok(a) = want.parse::<Ipv4Addr>() {
                if !all.iter().any(|i| i.ipv4.iter().any(|n| n.addr() == a)) {
                    anyhow::bail!("G1_DDS_INTERFACES: no interface of this host has address {a}");
                }
                out.push(IpAddr::V4(a));
                continue;
            }
            let Some(i) = all.iter().find(|i| &i.name == want) else {
                let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
                anyhow::bail!(
                    "G1_DDS_INTERFACES: no interface `{want}` (this host has {})",
                    names.join(", ")
                );
            };
            if i.ipv4.is_empty() {
                anyhow::bail!("G1_DDS_INTERFACES: interface `{want}` has no IPv4 address");
            }
            out.extend(i.ipv4.iter().map(|n| IpAddr::V4(n.addr())));
        }
        Ok(Some(out))
    }

    /// Whether each composed node needs a participant of its own: a participant restricted to
    /// loopback (no multicast there) does not discover itself, and RustDDS does not match a
    /// secured participant's endpoints with its own.
    pub fn needs_participant_per_node(&self, security: Option<&SecurityEnv>) -> bool {
        security.is_some() || self.range == DiscoveryRange::Localhost || !self.interfaces.is_empty()
    }
}

enum NodeInner {
    Dds(Box<Node>),
    #[cfg(feature = "zenoh")]
    Zenoh(crate::zenoh_rmw::ZenohNode),
}

/// A ROS 2 node on the wire, with its resolved names.
pub struct RosNode {
    node: NodeInner,
    /// `/rosout` on Zenoh (on DDS, ros2-client's rosout writer carries the log).
    rosout_zenoh: Option<Arc<Publisher<g1_msgs::rcl_interfaces::Log>>>,
    dds: Dds,
    publish_failures: Arc<AtomicU64>,
    pub ctx: NodeContext,
}

fn type_name_of(ty: &str) -> Result<MessageTypeName> {
    let parts: Vec<&str> = ty.split('/').collect();
    match parts.as_slice() {
        [pkg, "msg", name] => Ok(MessageTypeName::new(pkg, name)),
        _ => anyhow::bail!("message type `{ty}` is not `pkg/msg/Name`"),
    }
}

impl RosNode {
    pub fn new(dds: &Dds, ctx: NodeContext) -> Result<Self> {
        let node = match &dds.transport {
            #[cfg(feature = "zenoh")]
            Transport::Zenoh(z) => NodeInner::Zenoh(crate::zenoh_rmw::ZenohNode::new(
                z,
                &ctx.names.namespace,
                &ctx.names.name,
            )?),
            Transport::Dds(c) => NodeInner::Dds(Box::new(Self::dds_node(c, &ctx)?)),
        };
        let zenoh = !matches!(node, NodeInner::Dds(_));
        let mut me = Self {
            node,
            rosout_zenoh: None,
            dds: dds.clone(),
            publish_failures: Arc::new(AtomicU64::new(0)),
            ctx,
        };
        if zenoh && me.ctx.rosout_logs {
            let p = me.publisher::<g1_msgs::rcl_interfaces::Log>("/rosout", QosPreset::Command)?;
            me.rosout_zenoh = Some(Arc::new(p));
        }
        Ok(me)
    }

    fn dds_node(c: &Context, ctx: &NodeContext) -> Result<Node> {
        let name = NodeName::new(&ctx.names.namespace, &ctx.names.name)
            .map_err(|e| anyhow!("node name {}: {e:?}", ctx.names.fqn()))?;
        c.new_node(
            name,
            NodeOptions::new()
                .enable_rosout(ctx.rosout_logs)
                // Parameter services are this crate's own (both rmw wire formats).
                .start_parameter_services(false),
        )
        .map_err(|e| anyhow!("creating node {}: {e:?}", ctx.names.fqn()))
    }

    /// Whether the node is on DDS (see [`Dds::is_dds`]).
    pub fn is_dds(&self) -> bool {
        self.dds.is_dds()
    }

    fn dds_node_mut(&mut self) -> Result<&mut Node> {
        match &mut self.node {
            NodeInner::Dds(n) => Ok(n),
            #[cfg(feature = "zenoh")]
            NodeInner::Zenoh(_) => anyhow::bail!(
                "this needs DDS; with RMW_IMPLEMENTATION=rmw_zenoh_cpp only topics are offered"
            ),
        }
    }

    /// The DDS participant the node lives on (for entities `ros2-client` does not make).
    pub(crate) fn domain_participant(&self) -> Result<rustdds::DomainParticipant> {
        Ok(self.dds.dds_context()?.domain_participant())
    }

    /// The node's logger (stderr and `/rosout`).
    pub fn logger(&self) -> crate::rosout::NodeLogger {
        let handle = match &self.node {
            NodeInner::Dds(n) if self.ctx.rosout_logs => Some(n.logging_handle()),
            _ => None,
        };
        crate::rosout::NodeLogger::new(&self.ctx, handle, self.rosout_zenoh.clone())
    }

    /// When this node's participant is secured: the same node on an unsecured participant of
    /// its own (same domain and interfaces), for a link to a peer that cannot do DDS Security
    /// — the G1's firmware. `None` when unsecured (use this node).
    pub fn plain_twin(&self) -> Result<Option<RosNode>> {
        if !self.dds.secured {
            return Ok(None);
        }
        let plain = Dds::open(&self.dds.env, None)?;
        let mut twin = RosNode::new(&plain, self.ctx.clone())?;
        // One failure count per node, whichever participant wrote.
        twin.publish_failures = self.publish_failures.clone();
        Ok(Some(twin))
    }

    fn topic<M: Message>(&mut self, topic: &str, qos: QosPreset) -> Result<rustdds::Topic> {
        self.topic_of(topic, M::TYPE_NAME, qos)
    }

    fn topic_of(&mut self, topic: &str, ty: &str, qos: QosPreset) -> Result<rustdds::Topic> {
        let full = self.ctx.names.resolve_topic(topic);
        let name = Name::parse(&full).map_err(|e| anyhow!("topic name `{full}`: {e:?}"))?;
        self.dds_node_mut()?
            .create_topic(&name, type_name_of(ty)?, &qos.profile())
            .map_err(|e| anyhow!("topic {full}: {e:?}"))
    }

    /// A publisher of a type this crate takes from `ros2-client` (`ty`: `pkg/msg/Name`).
    pub(crate) fn raw_publisher<M: Serialize>(
        &mut self,
        topic: &str,
        ty: &str,
        qos: QosPreset,
    ) -> Result<Publisher<M>> {
        let t = self.topic_of(topic, ty, qos)?;
        let inner = self
            .dds_node_mut()?
            .create_publisher(&t, Some(qos.profile()))
            .map_err(|e| anyhow!("publisher {topic}: {e:?}"))?;
        Ok(Publisher {
            inner: PubInner::Dds(Box::new(inner)),
            topic: self.ctx.names.resolve_topic(topic),
            failures: self.publish_failures.clone(),
        })
    }

    /// A publisher of `M` on `topic` (relative names resolve under the node's namespace,
    /// remaps applied).
    pub fn publisher<M: Message + Serialize>(
        &mut self,
        topic: &str,
        qos: QosPreset,
    ) -> Result<Publisher<M>> {
        #[cfg(feature = "zenoh")]
        if let NodeInner::Zenoh(z) = &self.node {
            let full = self.ctx.names.resolve_topic(topic);
            let p = z
                .publisher::<M>(&full, qos)
                .with_context(|| format!("publisher {full}"))?;
            return Ok(Publisher {
                inner: PubInner::Zenoh(p),
                topic: full,
                failures: self.publish_failures.clone(),
            });
        }
        let t = self.topic::<M>(topic, qos)?;
        let inner = self
            .dds_node_mut()?
            .create_publisher(&t, Some(qos.profile()))
            .map_err(|e| anyhow!("publisher {topic}: {e:?}"))?;
        Ok(Publisher {
            inner: PubInner::Dds(Box::new(inner)),
            topic: self.ctx.names.resolve_topic(topic),
            failures: self.publish_failures.clone(),
        })
    }

    /// Failed writes of this node's publishers so far (shared with them).
    pub fn publish_failures(&self) -> Arc<AtomicU64> {
        self.publish_failures.clone()
    }

    pub fn subscription<M: Message + DeserializeOwned + 'static>(
        &mut self,
        topic: &str,
        qos: QosPreset,
    ) -> Result<Subscription<M>> {
        #[cfg(feature = "zenoh")]
        if let NodeInner::Zenoh(z) = &self.node {
            let full = self.ctx.names.resolve_topic(topic);
            let s = z
                .subscription::<M>(&full, qos)
                .with_context(|| format!("subscription {full}"))?;
            return Ok(Subscription {
                inner: SubInner::Zenoh(s),
            });
        }
        let t = self.topic::<M>(topic, qos)?;
        let s = self
            .dds_node_mut()?
            .create_subscription(&t, Some(qos.profile()))
            .map_err(|e| anyhow!("subscription {topic}: {e:?}"))?;
        Ok(Subscription {
            inner: SubInner::Dds(Box::new(s)),
        })
    }
}

/// Everything waiting on a subscription, oldest first (a malformed sample is skipped and
/// reported in the count of errors).
pub fn take_all<M: DeserializeOwned + 'static>(sub: &Subscription<M>) -> (Vec<M>, usize) {
    let (mut out, mut errors) = (Vec::new(), 0);
    loop {
        match sub.take() {
            Ok(Some(m)) => out.push(m),
            Ok(None) => break,
            Err(_) => errors += 1,
        }
        if errors > 1000 {
            break;
        }
    }
    (out, errors)
}

/// Waits up to `timeout` for the first sample (tests and start-up).
pub fn wait_for<M: DeserializeOwned + 'static>(
    sub: &Subscription<M>,
    timeout: Duration,
) -> Result<M> {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(m)) = sub.take() {
            return Ok(m);
        }
        if t0.elapsed() > timeout {
            return Err(anyhow!("no sample within {timeout:?}"))
                .context("waiting on a subscription");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
