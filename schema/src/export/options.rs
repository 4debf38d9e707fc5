//! What names and locates an exported service: the AsyncAPI `id`, `info` and `servers`, and the
//! JSON Schema bundle's `$id`, `title` and `description`.

/// What names and locates the exported service: the AsyncAPI `id`, `info` and `servers`, and
/// the JSON Schema bundle's `$id`, `title` and `description`.
///
/// Fill `description`, `contact`, `license` and at least one server and the AsyncAPI
/// validator has nothing to warn about.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportOptions {
    /// The service's title (`info.title`, the bundle's `title`).
    pub title: String,
    /// The contract's version (`info.version`), e.g. the crate's version.
    pub version: String,
    /// A longer description; when `None`, one is written from the contracts' docs.
    pub description: Option<String>,
    /// A URI naming the document (`id`, `$id`); when `None`, `urn:` + a slug of the title.
    pub id: Option<String>,
    /// The servers speaking this contract (AsyncAPI `servers`).
    pub servers: Vec<ServerInfo>,
    /// Who to contact about the service (AsyncAPI `info.contact`).
    pub contact: Option<Contact>,
    /// The contract's license (AsyncAPI `info.license`).
    pub license: Option<License>,
}

impl ExportOptions {
    /// Options with a title and a version, everything else unset.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> ExportOptions {
        ExportOptions {
            title: title.into(),
            version: version.into(),
            description: None,
            id: None,
            servers: Vec::new(),
            contact: None,
            license: None,
        }
    }

    /// Sets [`ExportOptions::description`].
    pub fn description(mut self, description: impl Into<String>) -> ExportOptions {
        self.description = Some(description.into());
        self
    }

    /// Sets [`ExportOptions::id`].
    pub fn id(mut self, id: impl Into<String>) -> ExportOptions {
        self.id = Some(id.into());
        self
    }

    /// Adds a server.
    pub fn server(mut self, server: ServerInfo) -> ExportOptions {
        self.servers.push(server);
        self
    }

    /// Sets [`ExportOptions::contact`].
    pub fn contact(mut self, contact: Contact) -> ExportOptions {
        self.contact = Some(contact);
        self
    }

    /// Sets [`ExportOptions::license`].
    pub fn license(mut self, license: License) -> ExportOptions {
        self.license = Some(license);
        self
    }

    /// The document id: [`ExportOptions::id`], or `urn:` followed by the title in lower case
    /// with every run of other characters than letters and digits turned into one `-`.
    pub fn document_id(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let mut slug = String::new();
        for c in self.title.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        format!(
            "urn:{}",
            if slug.is_empty() {
                "socketio-contract"
            } else {
                slug
            }
        )
    }
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        ExportOptions::new("Socket.IO event contract", "0.0.0")
    }
}

/// A server speaking the contract (an AsyncAPI Server Object).
#[derive(Clone, Debug, PartialEq)]
pub struct ServerInfo {
    /// The key under `servers` (`"local"`, `"production"`); letters, digits, `_`, `-`, `.`.
    pub name: String,
    /// Host and optional port (`"chat.example.com"`, `"localhost:3000"`).
    pub host: String,
    /// `ws`, `wss`, `http` or `https`.
    pub protocol: String,
    /// The Socket.IO path on the host; socket.io's default is `/socket.io/`.
    pub pathname: String,
    /// What the server is for.
    pub description: Option<String>,
}

impl ServerInfo {
    /// A server from its name, host and protocol, on the default path `/socket.io/`.
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        protocol: impl Into<String>,
    ) -> ServerInfo {
        ServerInfo {
            name: name.into(),
            host: host.into(),
            protocol: protocol.into(),
            pathname: "/socket.io/".into(),
            description: None,
        }
    }

    /// A server from a URL such as `wss://chat.example.com/socket.io/`; a URL without a path
    /// gets `/socket.io/`. `None` when the URL has no `scheme://host`.
    pub fn from_url(name: impl Into<String>, url: &str) -> Option<ServerInfo> {
        let (protocol, rest) = url.split_once("://")?;
        let (host, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        if protocol.is_empty() || host.is_empty() {
            return None;
        }
        let mut server = ServerInfo::new(name, host, protocol);
        if !path.is_empty() && path != "/" {
            server.pathname = path.to_owned();
        }
        Some(server)
    }

    /// Sets [`ServerInfo::description`].
    pub fn description(mut self, description: impl Into<String>) -> ServerInfo {
        self.description = Some(description.into());
        self
    }
}

/// Who to contact about the service (an AsyncAPI Contact Object).
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    /// A person or team.
    pub name: String,
    /// A web page about the service.
    pub url: String,
    /// An email address.
    pub email: String,
}

/// The contract's license (an AsyncAPI License Object).
#[derive(Clone, Debug, PartialEq)]
pub struct License {
    /// The license's name or SPDX expression (`"MIT OR Apache-2.0"`).
    pub name: String,
    /// Where to read it.
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_servers_come_from_options() {
        assert_eq!(
            ExportOptions::new("Chat  service!", "1").document_id(),
            "urn:chat-service"
        );
        let server = ServerInfo::from_url("local", "ws://localhost:3000")
            .unwrap_or_else(|| ServerInfo::new("", "", ""));
        assert_eq!(
            (server.host.as_str(), server.pathname.as_str()),
            ("localhost:3000", "/socket.io/")
        );
        assert!(ServerInfo::from_url("x", "no-scheme").is_none());
    }
}
