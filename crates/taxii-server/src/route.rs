//! The TAXII URL space. API roots may be several path segments deep and are known only at run
//! time, so paths are matched here rather than by a static router: the longest API root that
//! prefixes the path wins, and the rest names the resource. A missing trailing slash is served
//! like the slashed form.

/// A resource below the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Discovery,
    /// `/taxii/`: TAXII 2.0's discovery (medallion 1.x).
    Discovery20,
    ApiRoot {
        root: String,
    },
    Status {
        root: String,
        id: String,
    },
    Collections {
        root: String,
    },
    Collection {
        root: String,
        collection: String,
    },
    Manifest {
        root: String,
        collection: String,
    },
    Objects {
        root: String,
        collection: String,
    },
    Object {
        root: String,
        collection: String,
        object: String,
    },
    Versions {
        root: String,
        collection: String,
        object: String,
    },
}

impl Route {
    /// The endpoint's name in metrics (a fixed set, whatever the path).
    pub fn name(&self) -> &'static str {
        match self {
            Route::Discovery => "discovery",
            Route::Discovery20 => "discovery_v20",
            Route::ApiRoot { .. } => "api_root",
            Route::Status { .. } => "status",
            Route::Collections { .. } => "collections",
            Route::Collection { .. } => "collection",
            Route::Manifest { .. } => "manifest",
            Route::Objects { .. } => "objects",
            Route::Object { .. } => "object",
            Route::Versions { .. } => "versions",
        }
    }

    /// The methods the resource supports, as sent in `Allow`.
    pub fn allow(&self) -> &'static str {
        match self {
            Route::Objects { .. } => "GET, HEAD, POST",
            Route::Object { .. } => "GET, HEAD, DELETE",
            _ => "GET, HEAD",
        }
    }
}

fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Matches a request path against the API roots (given as paths without surrounding slashes).
pub fn parse<'a>(path: &str, roots: impl IntoIterator<Item = &'a str>) -> Option<Route> {
    let segments: Vec<String> = path
        .strip_prefix('/')?
        .split('/')
        .map(percent_decode)
        .collect::<Option<_>>()?;
    // A trailing slash leaves one empty segment; any other empty segment is not a TAXII path.
    let segments: &[String] = match segments.split_last() {
        Some((last, rest)) if last.is_empty() => rest,
        _ => &segments,
    };
    if segments.iter().any(String::is_empty) || segments.is_empty() {
        return None;
    }
    if segments.len() == 1 && segments[0] == "taxii2" {
        return Some(Route::Discovery);
    }
    if segments.len() == 1 && segments[0] == "taxii" {
        return Some(Route::Discovery20);
    }
    let (root, rest) = roots
        .into_iter()
        .filter_map(|root| {
            let depth = root.split('/').count();
            let prefix = segments.get(..depth)?;
            prefix
                .iter()
                .map(String::as_str)
                .eq(root.split('/'))
                .then(|| (root, &segments[depth..]))
        })
        .max_by_key(|(root, _)| root.len())?;
    let root = root.to_owned();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let own = |s: &str| s.to_owned();
    Some(match rest.as_slice() {
        [] => Route::ApiRoot { root },
        ["status", id] => Route::Status { root, id: own(id) },
        ["collections"] => Route::Collections { root },
        ["collections", c] => Route::Collection {
            root,
            collection: own(c),
        },
        ["collections", c, "manifest"] => Route::Manifest {
            root,
            collection: own(c),
        },
        ["collections", c, "objects"] => Route::Objects {
            root,
            collection: own(c),
        },
        ["collections", c, "objects", o] => Route::Object {
            root,
            collection: own(c),
            object: own(o),
        },
        ["collections", c, "objects", o, "versions"] => Route::Versions {
            root,
            collection: own(c),
            object: own(o),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOTS: [&str; 3] = ["api1", "org/a/api1", "org"];

    fn p(path: &str) -> Option<Route> {
        parse(path, ROOTS)
    }

    #[test]
    fn every_taxii_resource_is_recognised_with_or_without_trailing_slash() {
        assert_eq!(p("/taxii2/"), Some(Route::Discovery));
        assert_eq!(p("/taxii2"), Some(Route::Discovery));
        assert_eq!(p("/taxii/"), Some(Route::Discovery20));
        assert_eq!(p("/taxii"), Some(Route::Discovery20));
        assert_eq!(
            p("/api1/"),
            Some(Route::ApiRoot {
                root: "api1".into()
            })
        );
        assert_eq!(
            p("/api1/status/abc"),
            Some(Route::Status {
                root: "api1".into(),
                id: "abc".into()
            })
        );
        assert_eq!(
            p("/api1/collections/"),
            Some(Route::Collections {
                root: "api1".into()
            })
        );
        let c = || "c1".to_owned();
        assert_eq!(
            p("/api1/collections/c1/"),
            Some(Route::Collection {
                root: "api1".into(),
                collection: c()
            })
        );
        assert_eq!(
            p("/api1/collections/c1/manifest/"),
            Some(Route::Manifest {
                root: "api1".into(),
                collection: c()
            })
        );
        assert_eq!(
            p("/api1/collections/c1/objects/"),
            Some(Route::Objects {
                root: "api1".into(),
                collection: c()
            })
        );
        assert_eq!(
            p("/api1/collections/c1/objects/indicator--1/versions"),
            Some(Route::Versions {
                root: "api1".into(),
                collection: c(),
                object: "indicator--1".into()
            })
        );
    }

    #[test]
    fn nested_api_roots_take_the_longest_match() {
        assert_eq!(
            p("/org/a/api1/collections/"),
            Some(Route::Collections {
                root: "org/a/api1".into()
            })
        );
        assert_eq!(p("/org/"), Some(Route::ApiRoot { root: "org".into() }));
        assert_eq!(p("/org/a/"), None);
    }

    #[test]
    fn unknown_paths_match_nothing() {
        for path in [
            "/",
            "",
            "/nope/",
            "/api1/collections/c1/manifest/x/",
            "/api1//collections/",
            "/api1/channels/",
            "/api1/collections/c1/objects/o/versions/x/",
            "/api1/%zz/",
        ] {
            assert_eq!(p(path), None, "{path}");
        }
    }

    #[test]
    fn segments_are_percent_decoded() {
        assert_eq!(
            p("/api1/collections/c%31/"),
            Some(Route::Collection {
                root: "api1".into(),
                collection: "c1".into()
            })
        );
    }
}
