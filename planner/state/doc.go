// Package state reads and writes sdform's state file and guards it with a
// lock.
//
// The state file (.sdform/state.json by default) records, for every resource
// sdform manages, the attributes it had after the last apply, the input
// fingerprint it was built from, provider-private data, dependencies and
// timestamps, plus the results of check blocks and the root outputs. The next
// plan compares against it, so it must never be half-written or silently
// replaced by something unreadable:
//
//   - Save writes a temporary file in the same directory, fsyncs it, renames
//     it over the old one and fsyncs the directory, so a crash leaves either
//     the old or the new file, never a mix. The previous file is kept as
//     path+".backup".
//   - Load refuses a corrupt file, or one written by a newer sdform, with a
//     message naming the file, and Save refuses to replace such a file: a
//     state that sdform cannot read is the user's to repair, not ours to lose.
//   - Values are stored in go-cty's typed JSON form, so that an object reads
//     back with exactly the type it was written with (a map stays a map, a
//     set stays a set, a number keeps its precision).
//   - Sensitive leaves are stored redacted ("sha256:" and an HMAC), and each
//     resource lists the paths that were sensitive ("sensitive_paths", in
//     Terraform's [{"type": "get_attr"|"index", "value": …}] step form), so
//     that a redacted secret is not confused with a value that only looks
//     like one, such as an image digest. A file without the list (written
//     before it existed) is read as "not recorded".
//
// The format is versioned by Version. Serial counts writes and Lineage
// identifies one history of a state, so that a saved plan can tell whether
// the state it was made against has moved (see planner/plan).
//
// Lock guards every command that writes the state: an flock on
// path+".lock", which the kernel releases when the holding process exits,
// plus a JSON file path+".lock.info" that says who holds it and why, so a
// second command can tell its user whom it is waiting for. The info file is
// replaced by rename but not fsynced: every plan writes it, and it need not
// outlive a crash, which releases the flock anyway.
//
// A File is not safe for concurrent use; the planner serialises access to it.
package state
