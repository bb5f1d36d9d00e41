//! `marketplace-kit://install` links: found in any HTML page, parsed, and written back. A link
//! that parses writes back as a link that parses the same, and a page carrying a written link
//! (its `&` escaped, as HTML wants) gives that link back.
#![no_main]

use altdist::marketplace_kit::{INSTALL_LINK_PREFIX, InstallLink, find_install_links};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    package: String,
    token: String,
    auth: Option<String>,
    account: Option<String>,
    share: Option<String>,
    html: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    for raw in find_install_links(input.html) {
        assert!(raw.starts_with(INSTALL_LINK_PREFIX), "{raw}");
        match InstallLink::parse(&raw) {
            (Some(link), _) => assert_eq!(InstallLink::parse(&link.to_url()).0, Some(link)),
            (None, problems) => assert!(
                problems.iter().any(|problem| problem.is_error()),
                "{raw} is refused with a reason"
            ),
        }
    }
    let mut link = InstallLink::new(input.package, input.token);
    link.token = input.auth;
    link.account = input.account;
    link.app_share_url = input.share;
    let url = link.to_url();
    assert_eq!(InstallLink::parse(&url).0.as_ref(), Some(&link), "{url}");
    let page = format!("<a href=\"{}\">Install</a>", url.replace('&', "&amp;"));
    assert_eq!(find_install_links(&page), [url]);
    let _ = link.validate();
    let _ = link.package_host();
});
