//! ROS 2 services on DDS, answering clients of either rmw implementation a G1 user may run.
//!
//! A service `/node/name` of type `pkg/srv/T` is two topics: requests on
//! `rq/node/nameRequest` (`pkg::srv::dds_::T_Request_`) and replies on `rr/node/nameReply`
//! (`pkg::srv::dds_::T_Response_`). How a reply finds its request differs:
//!
//! * **rmw_cyclonedds** puts a 16-byte header in front of the payload — the client's id and
//!   the request's sequence number (`cdds_request_header_t`) — and expects it back in front
//!   of the reply;
//! * **rmw_fastrtps** (and ros2-client's "Enhanced" mapping) sends the bare request and
//!   matches the reply by its `related_sample_identity` inline QoS: since Humble the request
//!   carries one naming the client's reply reader (its sequence number unknown: the request's
//!   own stands in), before that the request's own sample identity was used.
//!
//! So every request is classified on its own ([`classify`]): a request with a related sample
//! identity is rmw_fastrtps'; otherwise one whose payload is a 16-byte header followed by
//! exactly one request is rmw_cyclonedds'; otherwise it is a bare request, answered by its
//! sample identity. The reply goes back in the form its request came.

use std::marker::PhantomData;

use anyhow::{anyhow, Result};
use ros2_client::dds::rustdds;
use rustdds::no_key::{DataWriter, SimpleDataReader};
use rustdds::policy::{Durability, History, Reliability};
use rustdds::serialization::{deserialize_from_cdr_with_rep_id, to_writer_with_rep_id};
use rustdds::{
    QosPolicies, QosPolicyBuilder, RepresentationIdentifier, SampleIdentity, SequenceNumber,
    TopicKind, WriteOptionsBuilder, GUID,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::dds::RosNode;

/// How a request came (its reply goes back the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// rmw_cyclonedds: the request id in a header in front of the payload.
    Cyclone,
    /// rmw_fastrtps / the RPC-over-DDS "enhanced" mapping: the id in `related_sample_identity`.
    SampleIdentity,
}

/// What a reply needs from its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId {
    pub format: WireFormat,
    /// rmw_cyclonedds' header, little-endian (client id, sequence number).
    cyclone_header: [u8; 16],
    /// The identity the reply names (`related_sample_identity`).
    identity: SampleIdentity,
}

/// A sample's serialized payload (after the encapsulation header) and its encoding.
#[derive(Debug)]
pub struct RawSample {
    pub(crate) bytes: Vec<u8>,
    pub(crate) encoding: RepresentationIdentifier,
}

/// `Deserialize` for a whole request that must use every byte of `bytes` (CDR's final
/// padding to 4 bytes aside).
fn exact<T: DeserializeOwned>(bytes: &[u8], enc: RepresentationIdentifier) -> Option<T> {
    let (v, used) = deserialize_from_cdr_with_rep_id::<T>(bytes, enc).ok()?;
    let rest = bytes.get(used..)?;
    (rest.len() < 4 && rest.iter().all(|b| *b == 0)).then_some(v)
}

/// Classifies one request (see the module's documentation) and decodes it.
///
/// `related`: the sample's `related_sample_identity`; `writer`, `seq`: its own identity.
pub fn classify<Req: DeserializeOwned>(
    payload: &[u8],
    enc: RepresentationIdentifier,
    related: Option<SampleIdentity>,
    writer: GUID,
    seq: SequenceNumber,
) -> Result<(RequestId, Req)> {
    let decode_err = || {
        anyhow!(
            "a {}-byte request that is neither rmw_cyclonedds' (header + request) nor a bare \
             request of this service's type",
            payload.len()
        )
    };
    if let Some(mut id) = related {
        if let Some(req) = exact::<Req>(payload, enc) {
            if id.sequence_number == SequenceNumber::UNKNOWN {
                id.sequence_number = seq;
            }
            return Ok((
                RequestId {
                    format: WireFormat::SampleIdentity,
                    cyclone_header: [0; 16],
                    identity: id,
                },
                req,
            ));
        }
    }
    if payload.len() >= 16 {
        if let Some(req) = exact::<Req>(&payload[16..], enc) {
            let mut header = [0u8; 16];
            header.copy_from_slice(&payload[..16]);
            if enc == RepresentationIdentifier::CDR_BE {
                // Replies are little-endian: the two 8-byte fields turn round.
                header[..8].reverse();
                header[8..].reverse();
            }
            return Ok((
                RequestId {
                    format: WireFormat::Cyclone,
                    cyclone_header: header,
                    identity: related.unwrap_or(SampleIdentity {
                        writer_guid: writer,
                        sequence_number: seq,
                    }),
                },
                req,
            ));
        }
    }
    let req = exact::<Req>(payload, enc).ok_or_else(decode_err)?;
    Ok((
        RequestId {
            format: WireFormat::SampleIdentity,
            cyclone_header: [0; 16],
            identity: SampleIdentity {
                writer_guid: writer,
                sequence_number: seq,
            },
        },
        req,
    ))
}

/// The reply's payload for a request of `id` (little-endian CDR).
pub fn reply_payload<Resp: Serialize>(id: &RequestId, resp: &Resp) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if id.format == WireFormat::Cyclone {
        out.extend_from_slice(&id.cyclone_header);
    }
    let mut body = Vec::new();
    to_writer_with_rep_id(&mut body, resp, RepresentationIdentifier::CDR_LE)
        .map_err(|e| anyhow!("encoding a reply: {e}"))?;
    out.extend_from_slice(&body);
    Ok(out)
}

// RustDDS adapters that hand over and take raw payloads.
pub struct RawAdapter;

impl rustdds::no_key::DeserializerAdapter<RawSample> for RawAdapter {
    type Error = std::convert::Infallible;
    type Decoded = RawSample;
    fn supported_encodings() -> &'static [RepresentationIdentifier] {
        &[
            RepresentationIdentifier::CDR_LE,
            RepresentationIdentifier::CDR_BE,
        ]
    }
    fn transform_decoded(decoded: RawSample) -> RawSample {
        decoded
    }
}

#[derive(Clone)]
pub struct RawDecoder;

impl<'de> rustdds::no_key::Decode<'de, RawSample> for RawDecoder {
    type Error = std::convert::Infallible;
    fn decode_bytes(
        self,
        input_bytes: &'de [u8],
        encoding: RepresentationIdentifier,
    ) -> Result<RawSample, Self::Error> {
        Ok(RawSample {
            bytes: input_bytes.to_vec(),
            encoding,
        })
    }
}

impl rustdds::no_key::DefaultDecoder<RawSample> for RawAdapter {
    type Decoder = RawDecoder;
    const DECODER: Self::Decoder = RawDecoder;
}

impl rustdds::no_key::SerializerAdapter<RawSample> for RawAdapter {
    type Error = std::convert::Infallible;
    fn output_encoding() -> RepresentationIdentifier {
        RepresentationIdentifier::CDR_LE
    }
    fn to_bytes(value: &RawSample) -> Result<rustdds::bytes::Bytes, Self::Error> {
        Ok(rustdds::bytes::Bytes::copy_from_slice(&value.bytes))
    }
}

/// The QoS of ROS 2 services (`rmw_qos_profile_services_default`).
fn service_qos() -> QosPolicies {
    QosPolicyBuilder::new()
        .reliability(Reliability::Reliable {
            max_blocking_time: rustdds::Duration::from_millis(100),
        })
        .durability(Durability::Volatile)
        .history(History::KeepLast { depth: 10 })
        .build()
}

type ServiceIo = (
    SimpleDataReader<RawSample, RawAdapter>,
    DataWriter<RawSample, RawAdapter>,
);

/// One service of a node, polled from the node's loop ([`Self::take`], [`Self::reply`]).
/// On Zenoh (`RMW_IMPLEMENTATION=rmw_zenoh_cpp`) services are not offered: it takes nothing.
pub struct Service<Req, Resp> {
    name: String,
    io: Option<ServiceIo>,
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req: DeserializeOwned, Resp: Serialize> Service<Req, Resp> {
    /// The service `name` (resolved as a topic name of `node`) of type `srv_type`
    /// (`pkg/srv/Name`).
    pub fn new(node: &RosNode, name: &str, srv_type: &str) -> Result<Self> {
        let full = node.ctx.names.resolve_topic(name);
        let (pkg, ty) = match srv_type.split('/').collect::<Vec<_>>()[..] {
            [pkg, "srv", ty] => (pkg, ty),
            _ => anyhow::bail!("service type `{srv_type}` is not `pkg/srv/Name`"),
        };
        if !node.is_dds() {
            return Ok(Self {
                name: full,
                io: None,
                _types: PhantomData,
            });
        }
        let dp = node.domain_participant()?;
        let qos = service_qos();
        let rq = dp
            .create_topic(
                format!("rq{full}Request"),
                format!("{pkg}::srv::dds_::{ty}_Request_"),
                &qos,
                TopicKind::NoKey,
            )
            .map_err(|e| anyhow!("service {full}: {e:?}"))?;
        let rr = dp
            .create_topic(
                format!("rr{full}Reply"),
                format!("{pkg}::srv::dds_::{ty}_Response_"),
                &qos,
                TopicKind::NoKey,
            )
            .map_err(|e| anyhow!("service {full}: {e:?}"))?;
        let reader = dp
            .create_subscriber(&qos)
            .and_then(|s| s.create_simple_datareader_no_key::<RawSample, RawAdapter>(&rq, None))
            .map_err(|e| anyhow!("service {full}: {e:?}"))?;
        let writer = dp
            .create_publisher(&qos)
            .and_then(|p| p.create_datawriter_no_key::<RawSample, RawAdapter>(&rr, None))
            .map_err(|e| anyhow!("service {full}: {e:?}"))?;
        Ok(Self {
            name: full,
            io: Some((reader, writer)),
            _types: PhantomData,
        })
    }

    /// The service's resolved name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every request waiting, oldest first; one that cannot be read is an `Err` naming why
    /// (it cannot be answered: its id is unknown).
    pub fn take(&self) -> Vec<Result<(RequestId, Req)>> {
        let mut out = Vec::new();
        let Some((reader, _)) = &self.io else {
            return out;
        };
        reader.drain_read_notifications();
        for _ in 0..1000 {
            match reader.try_take_one() {
                Ok(Some(dcc)) => {
                    let (related, writer, seq) = (
                        dcc.related_sample_identity(),
                        dcc.writer_guid(),
                        dcc.sequence_number,
                    );
                    let raw = dcc.into_value();
                    out.push(classify(&raw.bytes, raw.encoding, related, writer, seq));
                }
                Ok(None) => break,
                Err(e) => out.push(Err(anyhow!("{}: unreadable request: {e:?}", self.name))),
            }
        }
        out
    }

    /// Answers every waiting request with `answer` (a reply that cannot be written is
    /// dropped); returns why the unreadable requests were not answered.
    pub fn serve(&self, mut answer: impl FnMut(Req) -> Resp) -> Vec<anyhow::Error> {
        let mut errors = Vec::new();
        for r in self.take() {
            match r {
                Ok((id, q)) => {
                    self.reply(&id, &answer(q)).ok();
                }
                Err(e) => errors.push(e),
            }
        }
        errors
    }

    /// Answers the request `id`.
    pub fn reply(&self, id: &RequestId, resp: &Resp) -> Result<()> {
        let Some((_, writer)) = &self.io else {
            anyhow::bail!("{}: services are offered on DDS only", self.name);
        };
        let bytes = reply_payload(id, resp)?;
        // The related identity goes with rmw_cyclonedds' replies too (their clients read the
        // header and ignore it).
        let opts = WriteOptionsBuilder::new()
            .source_timestamp(rustdds::Timestamp::now())
            .related_sample_identity(id.identity);
        writer
            .write_with_options(
                RawSample {
                    bytes,
                    encoding: RepresentationIdentifier::CDR_LE,
                },
                opts.build(),
            )
            .map(|_| ())
            .map_err(|e| anyhow!("{}: writing the reply: {e:?}", self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Names {
        names: Vec<String>,
    }

    fn cdr<T: Serialize>(v: &T) -> Vec<u8> {
        let mut b = Vec::new();
        to_writer_with_rep_id(&mut b, v, RepresentationIdentifier::CDR_LE).unwrap();
        b
    }

    fn guid(n: u8) -> GUID {
        GUID::from_bytes([n; 16])
    }

    #[test]
    fn each_request_is_classified_and_answered_its_own_way() {
        let req = Names {
            names: vec!["control.joystick_weight".into(), "x".into()],
        };
        let body = cdr(&req);
        // rmw_cyclonedds: header (client 0x1122…, seq 7) + request; the reply echoes it.
        let mut cyc = Vec::new();
        cyc.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        cyc.extend_from_slice(&7i64.to_le_bytes());
        cyc.extend_from_slice(&body);
        let le = RepresentationIdentifier::CDR_LE;
        let seq = SequenceNumber::from(3i64);
        let (id, r) = classify::<Names>(&cyc, le, None, guid(1), seq).unwrap();
        assert_eq!((id.format, &r), (WireFormat::Cyclone, &req));
        let reply = reply_payload(&id, &Names { names: vec![] }).unwrap();
        assert_eq!(&reply[..16], &cyc[..16]);
        assert_eq!(&reply[16..], &cdr(&Names { names: vec![] })[..]);
        // rmw_fastrtps since Humble: related identity = the client's reader, seq unknown.
        let related = SampleIdentity {
            writer_guid: guid(9),
            sequence_number: SequenceNumber::UNKNOWN,
        };
        let (id, r) = classify::<Names>(&body, le, Some(related), guid(1), seq).unwrap();
        assert_eq!((id.format, &r), (WireFormat::SampleIdentity, &req));
        assert_eq!(id.identity.writer_guid, guid(9));
        assert_eq!(id.identity.sequence_number, seq);
        assert_eq!(reply_payload(&id, &req).unwrap(), body);
        // A bare request: answered by its own identity.
        let (id, _) = classify::<Names>(&body, le, None, guid(1), seq).unwrap();
        assert_eq!(id.format, WireFormat::SampleIdentity);
        assert_eq!(id.identity.writer_guid, guid(1));
        // Garbage is refused with the reason.
        let e = classify::<Names>(&[1, 2, 3], le, None, guid(1), seq).unwrap_err();
        assert!(e.to_string().contains("neither"), "{e}");
        // A big-endian rmw_cyclonedds header comes back little-endian.
        let mut be = Vec::new();
        be.extend_from_slice(&0x1122_3344_5566_7788u64.to_be_bytes());
        be.extend_from_slice(&7i64.to_be_bytes());
        let mut bb = Vec::new();
        to_writer_with_rep_id(&mut bb, &req, RepresentationIdentifier::CDR_BE).unwrap();
        be.extend_from_slice(&bb);
        let (id, r) =
            classify::<Names>(&be, RepresentationIdentifier::CDR_BE, None, guid(1), seq).unwrap();
        assert_eq!(r, req);
        assert_eq!(&reply_payload(&id, &req).unwrap()[..16], &cyc[..16]);
    }
}
