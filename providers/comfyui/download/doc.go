// Package download fetches model weight files over HTTP and from the Hugging
// Face hub, the way a 14 GB file has to be fetched: resumable, verified while
// the bytes arrive, and never trusted before its size and sha256 match.
//
// The package knows nothing of sdform's provider contract; package comfyui
// drives it. Its pieces:
//
//   - Client.Resolve turns a source ("hf://ORG/REPO@REV/PATH", an http(s)
//     URL, or a local "file:///ABS" or "file:REL") into a Remote: the URL to
//     fetch plus size, sha256, commit and ETag from one HEAD request. For the
//     hub it follows the hub's own relative redirects but not the redirect to
//     the CDN, because the hub's answer carries the metadata (X-Repo-Commit,
//     X-Linked-Etag, X-Linked-Size) and the CDN's does not. A file: URL is
//     answered by a small transport that serves the local file as an HTTP
//     server with ranges would, so a local copy gets everything a download
//     gets (partial file, streamed sha256, verification, resume).
//   - Client.Fetch downloads a Remote into DEST.partial and renames it to
//     DEST only after size and sha256 match. Large files are fetched over
//     several ranged connections, opened one after another while the hasher
//     waits for bytes (a CPU-bound machine is not made to juggle connections
//     that bring nothing); an in-order hasher digests the bytes as soon as
//     they are contiguous, taking buffers straight from the connection that
//     is at the hashing frontier and reading the rest back from the page
//     cache, so a finished file needs no second read. The bytes at the
//     frontier are written with O_DIRECT where the file system allows it:
//     they skip the copy into the page cache, which on a fast link can cost
//     as much CPU as the sha256. A sidecar (DEST.partial.json) records the
//     written ranges and the serialised sha256 state, so a resumed download
//     neither re-reads nor re-downloads what it already has.
//   - Verify trusts a file whose stat record (size, mtime, ctime, inode,
//     device) is unchanged and re-hashes it otherwise.
//   - Join keeps a relative path inside a models folder.
//
// Redirects are followed by the Client itself rather than by net/http, so
// that the token policy is applied at every hop: the bearer token goes only
// to the hub's own host (never to the CDN or any other host), a redirect
// from https to http is refused, and no error or log line carries the token
// or a signed query string.
package download
