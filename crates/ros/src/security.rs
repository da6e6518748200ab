//! DDS Security as SROS2 arranges it: the `ROS_SECURITY_*` environment and the enclave a
//! process runs as, resolved to the six files of its enclave directory; and (feature
//! `security`) a keystore generator that writes what `ros2 security create_keystore` /
//! `create_enclave` write — one certificate authority for identities and permissions, a signed
//! governance document, and per enclave a key, a certificate and signed permissions.
//!
//! Layout of a keystore (the SROS2 layout, so a keystore made by either tool reads the same):
//!
//! ```text
//! KEYSTORE/public/{ca,identity_ca,permissions_ca}.cert.pem
//! KEYSTORE/private/ca.key.pem                       (0600)
//! KEYSTORE/enclaves/governance.{xml,p7s}
//! KEYSTORE/enclaves/<enclave>/{cert,key}.pem, permissions.{xml,p7s},
//!                             identity_ca.cert.pem, permissions_ca.cert.pem, governance.p7s
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The enclave a process runs as when neither `--enclave` nor
/// `ROS_SECURITY_ENCLAVE_OVERRIDE` names one (rcl's default is `/`, which SROS2 cannot create;
/// every process of the suite shares this one unless told otherwise).
pub const DEFAULT_ENCLAVE: &str = "/g1_diffusion";

/// The files an enclave directory must hold (rmw_dds_common's names).
pub const ENCLAVE_FILES: [&str; 6] = [
    "identity_ca.cert.pem",
    "cert.pem",
    "key.pem",
    "permissions_ca.cert.pem",
    "governance.p7s",
    "permissions.p7s",
];

/// `ROS_SECURITY_STRATEGY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Refuse to start without the enclave's files.
    Enforce,
    /// Start unsecured (with a warning) when the enclave's files are missing.
    Permissive,
}

/// Security settings of a process: on, with the enclave directory to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEnv {
    pub keystore: PathBuf,
    pub enclave: String,
    pub strategy: Strategy,
    /// `KEYSTORE/enclaves/<enclave>`.
    pub dir: PathBuf,
}

/// Checks an enclave name: absolute, `/`-separated ROS name tokens.
pub fn check_enclave(e: &str) -> Result<()> {
    let Some(rest) = e.strip_prefix('/') else {
        bail!("enclave `{e}` must be absolute (start with `/`)");
    };
    if rest.is_empty() {
        bail!("enclave `/` cannot hold credentials; name one such as {DEFAULT_ENCLAVE}");
    }
    for tok in rest.split('/') {
        let ok = !tok.is_empty()
            && !tok.starts_with(|c: char| c.is_ascii_digit())
            && tok.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            bail!("enclave `{e}`: `{tok}` is not a ROS name token ([A-Za-z_][A-Za-z0-9_]*)");
        }
    }
    Ok(())
}

/// `KEYSTORE/enclaves/<enclave>`.
pub fn enclave_dir(keystore: &Path, enclave: &str) -> PathBuf {
    keystore
        .join("enclaves")
        .join(enclave.trim_start_matches('/'))
}

impl SecurityEnv {
    /// Security on with the enclave `enclave` of `keystore`, under the Enforce strategy (tools
    /// and tests that choose their credentials themselves).
    pub fn enforce(keystore: &Path, enclave: &str) -> Result<Self> {
        let ks = keystore.display().to_string();
        let get = move |k: &str| match k {
            "ROS_SECURITY_ENABLE" => Some("true".to_string()),
            "ROS_SECURITY_STRATEGY" => Some("Enforce".to_string()),
            "ROS_SECURITY_KEYSTORE" => Some(ks.clone()),
            _ => None,
        };
        Self::from_vars(&get, Some(enclave), &mut |_| {})?
            .ok_or_else(|| anyhow::anyhow!("enclave {enclave}: security did not turn on"))
    }

    /// Resolves security from the environment (`ROS_SECURITY_ENABLE`, `ROS_SECURITY_STRATEGY`,
    /// `ROS_SECURITY_KEYSTORE`, `ROS_SECURITY_ENCLAVE_OVERRIDE`) and the process's `--enclave`.
    /// `None` when security is off — or, under the permissive strategy, when the enclave's
    /// files are missing (`warn` is told why).
    pub fn from_vars(
        get: &dyn Fn(&str) -> Option<String>,
        enclave_arg: Option<&str>,
        warn: &mut dyn FnMut(String),
    ) -> Result<Option<Self>> {
        // As rcl: security is on only for the exact value `true`.
        match get("ROS_SECURITY_ENABLE").as_deref().map(str::trim) {
            Some("true") => {}
            None | Some("") | Some("false") => return Ok(None),
            Some(o) => bail!("ROS_SECURITY_ENABLE=`{o}` must be true or false"),
        }
        let strategy = match get("ROS_SECURITY_STRATEGY").as_deref().map(str::trim) {
            Some("Enforce") => Strategy::Enforce,
            None | Some("") | Some("Permissive") => Strategy::Permissive,
            Some(o) => bail!("ROS_SECURITY_STRATEGY=`{o}` must be Enforce or Permissive"),
        };
        let keystore = match get("ROS_SECURITY_KEYSTORE") {
            Some(k) if !k.trim().is_empty() => PathBuf::from(k.trim()),
            _ => bail!(
                "ROS_SECURITY_ENABLE=true needs ROS_SECURITY_KEYSTORE (create one with \
                 `g1d security create-keystore DIR`)"
            ),
        };
        let enclave = get("ROS_SECURITY_ENCLAVE_OVERRIDE")
            .filter(|s| !s.trim().is_empty())
            .or(enclave_arg.map(str::to_string))
            .unwrap_or_else(|| DEFAULT_ENCLAVE.to_string());
        check_enclave(&enclave)?;
        let dir = enclave_dir(&keystore, &enclave);
        let missing: Vec<&str> = ENCLAVE_FILES
            .iter()
            .copied()
            .filter(|f| !dir.join(f).is_file())
            .collect();
        if !missing.is_empty() {
            let msg = format!(
                "enclave {enclave}: {} lacks {} (create it with `g1d security create-enclave {} {enclave}`)",
                dir.display(),
                missing.join(", "),
                keystore.display()
            );
            match strategy {
                Strategy::Enforce => bail!("ROS_SECURITY_STRATEGY=Enforce: {msg}"),
                Strategy::Permissive => {
                    warn(format!(
                        "{msg}; running WITHOUT security (ROS_SECURITY_STRATEGY=Permissive)"
                    ));
                    return Ok(None);
                }
            }
        }
        Ok(Some(Self {
            keystore,
            enclave,
            strategy,
            dir,
        }))
    }
}

#[cfg(feature = "security")]
pub use keystore::{create_enclave, create_keystore, list_enclaves, Permissions};

#[cfg(feature = "security")]
mod keystore {
    use std::fs;
    use std::path::{Path, PathBuf};

    use anyhow::{bail, Context, Result};
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
    use openssl::pkey::{PKey, Private};
    use openssl::stack::Stack;
    use openssl::x509::extension::{BasicConstraints, KeyUsage};
    use openssl::x509::{X509Name, X509};

    use super::{check_enclave, enclave_dir};

    /// Years a certificate or permission grant stays valid.
    const VALID_YEARS: u32 = 10;
    /// The DDS domains the governance and permissions cover (all that RTPS ports allow).
    const DOMAINS: (u16, u16) = (0, 232);

    fn ec_key() -> Result<PKey<Private>> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
    }

    fn name(cn: &str) -> Result<X509Name> {
        let mut n = X509Name::builder()?;
        n.append_entry_by_nid(Nid::COMMONNAME, cn)?;
        Ok(n.build())
    }

    fn certificate(
        subject: &str,
        key: &PKey<Private>,
        issuer: Option<(&X509, &PKey<Private>)>,
    ) -> Result<X509> {
        let mut b = X509::builder()?;
        b.set_version(2)?;
        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        let serial = serial.to_asn1_integer()?;
        b.set_serial_number(&serial)?;
        let subject = name(subject)?;
        b.set_subject_name(&subject)?;
        b.set_pubkey(key)?;
        let (from, until) = (
            Asn1Time::days_from_now(0)?,
            Asn1Time::days_from_now(365 * VALID_YEARS)?,
        );
        b.set_not_before(&from)?;
        b.set_not_after(&until)?;
        match issuer {
            None => {
                b.set_issuer_name(&subject)?;
                b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
                b.append_extension(
                    KeyUsage::new()
                        .critical()
                        .key_cert_sign()
                        .crl_sign()
                        .digital_signature()
                        .build()?,
                )?;
                b.sign(key, MessageDigest::sha256())?;
            }
            Some((ca, ca_key)) => {
                b.set_issuer_name(ca.subject_name())?;
                b.append_extension(BasicConstraints::new().critical().build()?)?;
                b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
                b.sign(ca_key, MessageDigest::sha256())?;
            }
        }
        Ok(b.build())
    }

    /// S/MIME (detached PKCS#7, text) signature of `doc`, as `openssl smime -sign -text`.
    fn smime_sign(doc: &str, cert: &X509, key: &PKey<Private>) -> Result<Vec<u8>> {
        let flags = Pkcs7Flags::TEXT | Pkcs7Flags::DETACHED;
        let chain: Stack<X509> = Stack::new()?;
        let p7 = Pkcs7::sign(cert, key, &chain, doc.as_bytes(), flags)?;
        Ok(p7.to_smime(doc.as_bytes(), flags)?)
    }

    fn write(path: &Path, bytes: &[u8]) -> Result<()> {
        fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    }

    fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The domain's rules: no unauthenticated participant, join and read/write access control,
    /// and encryption at the RTPS-message level (every message, discovery and user data
    /// alike, is encrypted and authenticated as a whole) and of each submessage. Payload
    /// encryption (`data_protection_kind`) stays NONE: with RustDDS 0.15.1 every payload so
    /// protected fails to decrypt at the reader (measured: 0 of ~450 samples delivered, each
    /// refused with ring's `Unspecified`), while the message-level protection above delivers
    /// them all — and already covers the payload.
    fn governance_xml() -> String {
        let (lo, hi) = DOMAINS;
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://www.omg.org/spec/DDS-SECURITY/20170901/omg_shared_ca_governance.xsd">
  <domain_access_rules>
    <domain_rule>
      <domains>
        <id_range>
          <min>{lo}</min>
          <max>{hi}</max>
        </id_range>
      </domains>
      <allow_unauthenticated_participants>false</allow_unauthenticated_participants>
      <enable_join_access_control>true</enable_join_access_control>
      <discovery_protection_kind>ENCRYPT</discovery_protection_kind>
      <liveliness_protection_kind>ENCRYPT</liveliness_protection_kind>
      <rtps_protection_kind>ENCRYPT</rtps_protection_kind>
      <topic_access_rules>
        <topic_rule>
          <topic_expression>*</topic_expression>
          <enable_discovery_protection>true</enable_discovery_protection>
          <enable_liveliness_protection>true</enable_liveliness_protection>
          <enable_read_access_control>true</enable_read_access_control>
          <enable_write_access_control>true</enable_write_access_control>
          <metadata_protection_kind>ENCRYPT</metadata_protection_kind>
          <data_protection_kind>NONE</data_protection_kind>
        </topic_rule>
      </topic_access_rules>
    </domain_rule>
  </domain_access_rules>
</dds>
"#
        )
    }

    /// What an enclave may publish and subscribe to: DDS topic name globs (`rt/cmd_vel`,
    /// `rt/lowcmd`, `rt/*`; ROS topic `/x` is DDS topic `rt/x`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Permissions {
        pub publish: Vec<String>,
        pub subscribe: Vec<String>,
    }

    impl Default for Permissions {
        fn default() -> Self {
            Self {
                publish: vec!["*".into()],
                subscribe: vec!["*".into()],
            }
        }
    }

    fn xml_escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    /// Topics every ROS 2 participant uses for itself (the node graph, logs, parameter
    /// events); granted to every enclave besides its own list.
    const ROS_INFRASTRUCTURE: [&str; 3] =
        ["ros_discovery_info", "rt/rosout", "rt/parameter_events"];

    fn permissions_xml(subject: &str, p: &Permissions) -> String {
        let with_infra = |v: &[String]| {
            let mut v = v.to_vec();
            for t in ROS_INFRASTRUCTURE {
                if !v.iter().any(|x| x == t || x == "*") {
                    v.push(t.to_string());
                }
            }
            v
        };
        let p = &Permissions {
            publish: with_infra(&p.publish),
            subscribe: with_infra(&p.subscribe),
        };
        let (now, until) = (utc_stamp(0), utc_stamp(VALID_YEARS));
        let topics = |v: &[String]| {
            v.iter()
                .map(|t| format!("            <topic>{}</topic>\n", xml_escape(t)))
                .collect::<String>()
        };
        let block = |tag: &str, v: &[String]| {
            if v.is_empty() {
                String::new()
            } else {
                format!(
                    "        <{tag}>\n          <topics>\n{}          </topics>\n        </{tag}>\n",
                    topics(v)
                )
            }
        };
        let (lo, hi) = DOMAINS;
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://www.omg.org/spec/DDS-Security/20170901/omg_shared_ca_permissions.xsd">
  <permissions>
    <grant name="{name}">
      <subject_name>CN={name}</subject_name>
      <validity>
        <not_before>{now}</not_before>
        <not_after>{until}</not_after>
      </validity>
      <allow_rule>
        <domains>
          <id_range>
            <min>{lo}</min>
            <max>{hi}</max>
          </id_range>
        </domains>
{publish}{subscribe}      </allow_rule>
      <default>DENY</default>
    </grant>
  </permissions>
</dds>
"#,
            name = xml_escape(subject),
            publish = block("publish", &p.publish),
            subscribe = block("subscribe", &p.subscribe),
        )
    }

    /// Now plus `years` as `YYYY-MM-DDThh:mm:ss` (UTC), without a date crate.
    fn utc_stamp(years: u32) -> String {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2) + i64::from(years);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }

    fn ca(keystore: &Path) -> Result<(X509, PKey<Private>)> {
        let cert_path = keystore.join("public/ca.cert.pem");
        let key_path = keystore.join("private/ca.key.pem");
        let cert = X509::from_pem(
            &fs::read(&cert_path).with_context(|| {
                format!(
                    "{} is not a keystore (no public/ca.cert.pem; create one with `g1d security create-keystore`)",
                    keystore.display()
                )
            })?,
        )
        .with_context(|| format!("{}", cert_path.display()))?;
        let key = PKey::private_key_from_pem(
            &fs::read(&key_path).with_context(|| format!("reading {}", key_path.display()))?,
        )
        .with_context(|| format!("{}", key_path.display()))?;
        Ok((cert, key))
    }

    /// Creates a keystore in `dir` (which must not exist or be empty): the CA and the signed
    /// governance document.
    pub fn create_keystore(dir: &Path) -> Result<()> {
        if dir.exists()
            && fs::read_dir(dir)
                .with_context(|| format!("{}", dir.display()))?
                .next()
                .is_some()
        {
            bail!(
                "{} exists and is not empty; a keystore is never overwritten",
                dir.display()
            );
        }
        for sub in ["public", "private", "enclaves"] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("creating {}", dir.join(sub).display()))?;
        }
        let key = ec_key()?;
        let cert = certificate("g1_diffusion keystore CA", &key, None)?;
        let pem = cert.to_pem()?;
        for f in ["ca", "identity_ca", "permissions_ca"] {
            write(&dir.join(format!("public/{f}.cert.pem")), &pem)?;
        }
        write_private(
            &dir.join("private/ca.key.pem"),
            &key.private_key_to_pem_pkcs8()?,
        )?;
        let gov = governance_xml();
        write(&dir.join("enclaves/governance.xml"), gov.as_bytes())?;
        write(
            &dir.join("enclaves/governance.p7s"),
            &smime_sign(&gov, &cert, &key)?,
        )?;
        Ok(())
    }

    /// Creates the enclave `enclave` in `keystore`: a key, a certificate with subject
    /// `CN=<enclave>` signed by the keystore's CA, and permissions signed by it. Refuses an
    /// enclave that exists.
    pub fn create_enclave(keystore: &Path, enclave: &str, perms: &Permissions) -> Result<PathBuf> {
        check_enclave(enclave)?;
        let (ca_cert, ca_key) = ca(keystore)?;
        let dir = enclave_dir(keystore, enclave);
        if dir.join("cert.pem").exists() {
            bail!(
                "enclave {enclave} exists ({}); remove it to make a new one",
                dir.display()
            );
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let key = ec_key()?;
        let cert = certificate(enclave, &key, Some((&ca_cert, &ca_key)))?;
        write_private(&dir.join("key.pem"), &key.private_key_to_pem_pkcs8()?)?;
        write(&dir.join("cert.pem"), &cert.to_pem()?)?;
        let ca_pem = ca_cert.to_pem()?;
        write(&dir.join("identity_ca.cert.pem"), &ca_pem)?;
        write(&dir.join("permissions_ca.cert.pem"), &ca_pem)?;
        let gov = keystore.join("enclaves/governance.p7s");
        fs::copy(&gov, dir.join("governance.p7s"))
            .with_context(|| format!("copying {}", gov.display()))?;
        let xml = permissions_xml(enclave, perms);
        write(&dir.join("permissions.xml"), xml.as_bytes())?;
        write(
            &dir.join("permissions.p7s"),
            &smime_sign(&xml, &ca_cert, &ca_key)?,
        )?;
        Ok(dir)
    }

    /// The enclaves of a keystore (directories under `enclaves/` holding a certificate).
    pub fn list_enclaves(keystore: &Path) -> Result<Vec<String>> {
        let root = keystore.join("enclaves");
        if !root.is_dir() {
            bail!("{} is not a keystore (no enclaves/)", keystore.display());
        }
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).with_context(|| format!("{}", d.display()))? {
                let p = e?.path();
                if p.is_dir() {
                    if p.join("cert.pem").is_file() {
                        let rel = p.strip_prefix(&root).unwrap_or(&p);
                        out.push(format!("/{}", rel.display()));
                    }
                    stack.push(p);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
