//! The `Message` trait, the schema text builder, and the macro that defines message structs.

use crate::cdr::CdrField;

/// A ROS 2 message type: its full name, its `.msg` definition and the types it uses.
pub trait Message: CdrField + 'static {
    /// `package/msg/Type`, as MCAP schemas and rosbag2 metadata name it.
    const TYPE_NAME: &'static str;
    /// The `.msg` text of this type alone.
    const DEFINITION: &'static str;
    /// Calls `c.add::<T>()` for every message type a field of this type uses.
    fn visit_dependencies(c: &mut SchemaBuilder);
}

/// Concatenates a definition with those of its dependencies in the `ros2msg` schema format
/// rosbag2 writes into MCAP files (`====…` separator lines and `MSG: pkg/Type` headers).
#[derive(Default)]
pub struct SchemaBuilder {
    seen: Vec<&'static str>,
    text: String,
}

impl SchemaBuilder {
    pub fn add<T: Message>(&mut self) {
        if self.seen.contains(&T::TYPE_NAME) {
            return;
        }
        self.seen.push(T::TYPE_NAME);
        self.text.push_str(&"=".repeat(80));
        self.text.push_str("\nMSG: ");
        self.text.push_str(&T::TYPE_NAME.replacen("/msg/", "/", 1));
        self.text.push('\n');
        self.text.push_str(T::DEFINITION);
        if !T::DEFINITION.ends_with('\n') {
            self.text.push('\n');
        }
        T::visit_dependencies(self);
    }
}

/// The `ros2msg` schema text of `T` (its definition followed by every type it depends on).
pub fn schema_text<T: Message>() -> String {
    let mut c = SchemaBuilder {
        seen: vec![T::TYPE_NAME],
        text: T::DEFINITION.to_string(),
    };
    if !c.text.ends_with('\n') {
        c.text.push('\n');
    }
    T::visit_dependencies(&mut c);
    c.text
}

/// Defines a message struct whose fields are CDR-encoded in declaration order.
#[macro_export]
macro_rules! ros_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $type_name:literal uses [$($dep:ty),* $(,)?] {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty ),* $(,)?
        }
        definition = $def:expr;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, $crate::serde::Serialize, $crate::serde::Deserialize)]
        #[serde(crate = "crate::serde")]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $fty, )*
        }
        impl $crate::cdr::CdrField for $name {
            #[allow(unused_variables)]
            fn write(&self, w: &mut $crate::cdr::CdrWriter) {
                $( $crate::cdr::CdrField::write(&self.$field, w); )*
            }
            #[allow(unused_variables)]
            fn read(r: &mut $crate::cdr::CdrReader<'_>) -> Result<Self, $crate::cdr::CdrError> {
                Ok(Self { $( $field: $crate::cdr::CdrField::read(r)?, )* })
            }
        }
        impl $crate::message::Message for $name {
            const TYPE_NAME: &'static str = $type_name;
            const DEFINITION: &'static str = $def;
            #[allow(unused_variables)]
            fn visit_dependencies(c: &mut $crate::message::SchemaBuilder) {
                $( c.add::<$dep>(); )*
            }
        }
    };
}
