package workflow

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestCancelOnRealServer checks Cancel against a real ComfyUI (the fake's
// queue handling is modelled on it): a slow prompt runs, a second one
// waits; Cancel deletes the waiting one from the queue and interrupts the
// running one, and neither reaches the history as a success. It runs only
// where SDFORM_COMFYUI_URL names a server (the GPU machine; see README).
func TestCancelOnRealServer(t *testing.T) {
	base := os.Getenv("SDFORM_COMFYUI_URL")
	if base == "" {
		t.Skip("SDFORM_COMFYUI_URL is unset: no real ComfyUI to check against")
	}
	c := newClient(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Lanczos upscaling runs on the CPU, image by image: seconds of work;
	// a color of this run's own keeps ComfyUI's cache out of it.
	slow := func(prefix string) Prompt {
		p, _, err := Parse([]byte(`{
  "1": {"class_type": "EmptyImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 48, "color": ` + strconv.Itoa(time.Now().Nanosecond()%0xffffff) + `}},
  "2": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "lanczos", "width": 4096, "height": 4096, "crop": "disabled"}},
  "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "` + prefix + `"}}
}`))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	running, err := c.Submit(ctx, slow("sdform/cancel-running"), "sdform-test")
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := c.Submit(ctx, slow("sdform/cancel-waiting"), "sdform-test")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if where, _ := c.place(ctx, running); where == placeRunning {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if where, err := c.place(ctx, waiting); where != placePending || err != nil {
		t.Fatalf("the second prompt is not waiting (%v, %v): the first was not slow enough", where, err)
	}
	if got, err := c.Cancel(ctx, waiting); got != Dequeued || err != nil {
		t.Errorf("Cancel(waiting) = %q, %v; want %q", got, err, Dequeued)
	}
	if where, _ := c.place(ctx, waiting); where != placeFinished {
		t.Errorf("the cancelled prompt is still in the queue")
	}
	if got, err := c.Cancel(ctx, running); got != Interrupted || err != nil {
		t.Errorf("Cancel(running) = %q, %v; want %q", got, err, Interrupted)
	}
	for i := 0; i < 600; i++ {
		if where, _ := c.place(ctx, running); where == placeFinished {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if where, _ := c.place(ctx, running); where != placeFinished {
		t.Fatalf("the interrupted prompt is still queued after a minute")
	}
	var hist map[string]struct {
		Status struct {
			StatusStr string `json:"status_str"`
		} `json:"status"`
	}
	if err := c.getJSON(ctx, "/history/"+waiting, nil, &hist); err != nil || len(hist) != 0 {
		t.Errorf("the deleted prompt reached the history (%v): %v", err, hist)
	}
	if err := c.getJSON(ctx, "/history/"+running, nil, &hist); err != nil || hist[running].Status.StatusStr == "success" {
		t.Errorf("the interrupted prompt's history: %v %+v", err, hist[running])
	}
}
