//! The problem codes of cases, files and uploads (the catalogue;
//! `docs/errors.md` is generated from it).

dentex_http::codes!(ALL {
    THUMBNAIL_UNAVAILABLE = (404, "thumbnail_unavailable", "The scan has no preview (yet): the detail gives the analysis status."),
    RESTRICTED = (409, "restricted", "The case's patient asked for processing to be restricted (GDPR Art. 18): it keeps its data but cannot be submitted, quoted, downloaded or messaged on until support lifts the restriction."),
    CASE_NOT_DRAFT = (409, "case_not_draft", "Only a draft changes; after submission use the case's chat."),
    CASE_NOT_CANCELABLE = (409, "case_not_cancelable", "The case is already cancelled, or awarded (an awarded case's order is cancelled instead)."),
    UPLOAD_EXPIRED = (409, "upload_expired", "The presigned upload expired unfinished and is being removed: start a new one."),
    UPLOAD_IN_PROGRESS = (409, "upload_in_progress", "The upload is being completed by another request right now."),
    UPLOAD_INCOMPLETE = (409, "upload_incomplete", "Some parts are missing or have the wrong size (`errors[]`): send them and complete again."),
    UPLOAD_GONE = (409, "upload_gone", "The upload was abandoned or aborted meanwhile."),
    QUOTA_EXCEEDED = (413, "quota_exceeded", "The file would take the organisation over its storage quota."),
    PHOTO_NEEDS_DIRECT_UPLOAD = (415, "photo_needs_direct_upload", "Photos go through POST /api/v1/cases/{case}/files, which removes their metadata before storing."),
    MESH_EMPTY = (422, "mesh_empty", "The scan has no triangles: export it again from the scanner software."),
    MESH_UNREADABLE = (422, "mesh_unreadable", "The scan cannot be read; the detail quotes the reader's reason."),
    UNREADABLE_IMAGE = (422, "unreadable_image", "The photo is damaged, so its metadata cannot be removed; nothing was kept."),
    CHECKSUM_MISMATCH = (422, "checksum_mismatch", "The bytes received do not match the declared size and SHA-256; nothing was kept."),
});
