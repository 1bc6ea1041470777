// Package workflow talks to a ComfyUI server the way sdform's
// comfyui_workflow resource needs: wait for it to be ready, read its
// /object_info, turn a UI-format workflow into the API format the server
// accepts, check a workflow against what the server has before submitting
// it, run it while following its WebSocket messages, and fetch and check
// the files it wrote.
//
// The behaviour it relies on is ComfyUI 0.8.0's, as recorded in
// ../comfytest/testdata/transcript-0.8.0.json and reproduced by the fake
// server in package comfytest:
//
//   - only API format is accepted: {"<id>": {"class_type", "inputs"}};
//   - WebSocket messages other than "status" go only to the client id named
//     in the POST /prompt body, so the socket is opened first with that id;
//   - a run ends with execution_success, execution_error or
//     execution_interrupted, and /history/{id} is {} until it has ended;
//   - outputs are objects with filename, subfolder and type under any
//     list-valued key of a node's output.
//
// Nothing here knows about sdform's engine; package comfyui wraps it into a
// resource.
package workflow
