package comfyui

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/download"
)

// progressView shows one file's download or re-hash: a redrawn bar with
// bytes, rate and ETA on a terminal; otherwise a plain line (or, under
// -json, a JSON object) at the start, every 10 % and at least every 5 s.
type progressView struct {
	out      io.Writer
	terminal bool
	json     bool
	label    string
	now      func() time.Time

	mu       sync.Mutex
	phase    string
	began    time.Time
	lastLine time.Time
	lastPct  int
	resumed  int64 // bytes the phase started with (a resumed download)
	open     bool  // a bar is drawn without its newline
}

const (
	plainEvery = 5 * time.Second
	barWidth   = 24
)

func newProgressView(ui providers.UI, label string) *progressView {
	out := ui.Out
	if out == nil {
		out = io.Discard
	}
	return &progressView{out: out, terminal: ui.Terminal && !ui.JSON, json: ui.JSON, label: label, now: time.Now}
}

func verbing(phase string) string {
	switch phase {
	case "verify":
		return "verifying"
	case "copy":
		return "copying"
	}
	return "downloading"
}

// update takes one report from the download engine.
func (v *progressView) update(p download.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if p.Phase != v.phase {
		v.closeBar()
		v.phase, v.began, v.lastLine, v.lastPct = p.Phase, now, time.Time{}, -1
	}
	v.resumed = p.Resumed
	if v.terminal {
		fmt.Fprintf(v.out, "\r\x1b[K%s", v.barLine(p))
		v.open = true
		return
	}
	pct := -1
	if p.Total > 0 {
		pct = int(p.Done * 100 / p.Total)
	}
	if !v.lastLine.IsZero() && now.Sub(v.lastLine) < plainEvery && pct/10 <= v.lastPct/10 {
		return
	}
	v.lastLine, v.lastPct = now, pct
	v.line(p, v.plainLine(p))
}

// done ends the current phase with a summary line; its rate counts only
// the bytes of this run, not those a resumed download already had.
func (v *progressView) done(verb string, size int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closeBar()
	took := v.now().Sub(v.began)
	msg := fmt.Sprintf("%s %s: %s in %s", verb, v.label, lang.FormatSize(size), roundDuration(took))
	if v.resumed > 0 {
		msg += fmt.Sprintf(", %s of it resumed", lang.FormatSize(v.resumed))
	}
	if s := took.Seconds(); s > 0 {
		msg += fmt.Sprintf(" (%s/s)", lang.FormatSize(int64(float64(size-v.resumed)/s)))
	}
	v.line(download.Progress{Phase: v.phase, Done: size, Total: size}, msg)
	v.phase, v.resumed = "", 0
}

// note prints one line between phases.
func (v *progressView) note(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closeBar()
	v.line(download.Progress{Phase: v.phase, Total: -1}, msg)
}

func (v *progressView) closeBar() {
	if v.open {
		fmt.Fprintln(v.out)
		v.open = false
	}
}

func (v *progressView) line(p download.Progress, msg string) {
	if !v.json {
		fmt.Fprintln(v.out, msg)
		return
	}
	b, _ := json.Marshal(map[string]any{
		"@level": "info", "@message": msg, "type": "progress", "file": v.label, "phase": p.Phase,
		"bytes_done": p.Done, "bytes_total": p.Total, "bytes_per_second": int64(p.Rate),
	})
	fmt.Fprintf(v.out, "%s\n", b)
}

func (v *progressView) barLine(p download.Progress) string {
	if p.Total <= 0 {
		return fmt.Sprintf("%s %s %s %s/s", verbing(p.Phase), v.label, lang.FormatSize(p.Done), lang.FormatSize(int64(p.Rate)))
	}
	filled := int(p.Done * barWidth / p.Total)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled)
	if filled > 0 && filled < barWidth {
		bar = bar[:filled-1] + ">" + bar[filled:]
	}
	return fmt.Sprintf("%s %s [%s] %3d%% %s / %s  %s/s  ETA %s", verbing(p.Phase), v.label, bar,
		p.Done*100/p.Total, lang.FormatSize(p.Done), lang.FormatSize(p.Total), lang.FormatSize(int64(p.Rate)), eta(p))
}

func (v *progressView) plainLine(p download.Progress) string {
	if p.Total <= 0 {
		return fmt.Sprintf("%s %s: %s, %s/s", verbing(p.Phase), v.label, lang.FormatSize(p.Done), lang.FormatSize(int64(p.Rate)))
	}
	s := fmt.Sprintf("%s %s: %s of %s (%d%%), %s/s, ETA %s", verbing(p.Phase), v.label,
		lang.FormatSize(p.Done), lang.FormatSize(p.Total), p.Done*100/p.Total, lang.FormatSize(int64(p.Rate)), eta(p))
	if p.Resumed > 0 {
		s += fmt.Sprintf(", resumed at %s", lang.FormatSize(p.Resumed))
	}
	return s
}

func eta(p download.Progress) string {
	d := p.ETA()
	if d <= 0 {
		return "--"
	}
	return roundDuration(d)
}

func roundDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
