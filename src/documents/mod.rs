//! The erasure papers people print and sign: the written request of 第13条2
//! (消去依頼書, [`erase_request`]) and the certificate and report of 第13条5
//! (消去証明書, [`certificate`]). Each is built from the request as the audit
//! chain records it — never from the tables beside it or from the disks —
//! and rendered as JSON, Markdown and A4 HTML that prints on the sheets the
//! tests count. [`sheet`] holds what they share: the page, the letterhead
//! addressed to the city, the name of each item's medium and the grouping
//! of items by snapshot and medium.
//!
//! The monthly forms (`report`) and the receipt (`handover`) are the rest of
//! the family; they use the same page helpers from `report::page`.

pub mod certificate;
pub mod erase_request;
pub mod sheet;
