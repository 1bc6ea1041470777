package docker

import (
	"encoding/json"
	"fmt"
	"time"
)

// privateVersion is bumped when imagePrivate changes incompatibly; an older
// record is read as empty, which plans a rebuild rather than a wrong no-op.
const privateVersion = 1

// maxHistory bounds the builds whose step keys are remembered.
const maxHistory = 20

// imagePrivate is docker_image's provider-private record in state.
type imagePrivate struct {
	Version int `json:"v"`
	// Fingerprint digests the inputs of the last successful build (the
	// predicted step keys and the image-config inputs).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Builder is the address the image was built on.
	Builder string `json:"builder,omitempty"`
	// ImageConfig is the digest of the image config the last build's
	// Dockerfile gave (prediction.ImageConfig), so that a rebuild in which
	// no step runs can say the config changed.
	ImageConfig string `json:"image_config,omitempty"`
	// History holds the step keys of earlier builds, newest last: BuildKit
	// keeps their results until pruned, so the plan counts them as cached.
	History []buildRecord `json:"history,omitempty"`
	// Candidates are the candidate tags the last build carries until
	// promotion.
	Candidates []string `json:"candidates,omitempty"`
	// Promoted is false while the last build waits for its tests.
	Promoted bool `json:"promoted"`
	// Applied maps each tag sdform moved to the image ID (Engine) or
	// manifest digest (registry) it pointed it at.
	Applied map[string]string `json:"applied,omitempty"`
	// Previous maps each tag to what it pointed at before the last
	// promotion, for rollback; "" when the tag was new.
	Previous map[string]string `json:"previous,omitempty"`
	// PreviousPushed maps, with push on the docker backend, each tag to
	// the manifest digest its registry tag named before the last
	// promotion, kept there under the tag's previous tag as the Engine
	// keeps Previous, so that a rollback needs nothing of the Engine's.
	PreviousPushed map[string]string `json:"previous_pushed,omitempty"`
	// RolledBack is set by `sdform rollback`: the tags point to the
	// previous image, not to what the configuration asks for.
	RolledBack bool `json:"rolled_back,omitempty"`
	// Planned carries the plan's prediction into apply.
	Planned *prediction `json:"planned,omitempty"`
}

// buildRecord is one build's step keys.
type buildRecord struct {
	Time time.Time `json:"time"`
	Keys []string  `json:"keys"`
}

func decodePrivate(b []byte) (*imagePrivate, error) {
	p := &imagePrivate{Version: privateVersion}
	if len(b) == 0 {
		return p, nil
	}
	var probe struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return p, fmt.Errorf("decode docker_image private data: %w", err)
	}
	if probe.V != privateVersion {
		return p, nil
	}
	if err := json.Unmarshal(b, p); err != nil {
		return &imagePrivate{Version: privateVersion}, fmt.Errorf("decode docker_image private data: %w", err)
	}
	return p, nil
}

func (p *imagePrivate) encode() []byte {
	b, err := json.Marshal(p)
	if err != nil {
		// Only plain strings, maps and times are in it.
		panic(fmt.Sprintf("encode docker_image private data: %v", err))
	}
	return b
}

// remember appends a build's keys, dropping the oldest beyond maxHistory.
func (p *imagePrivate) remember(t time.Time, keys []string) {
	if len(keys) == 0 {
		return
	}
	p.History = append(p.History, buildRecord{Time: t, Keys: keys})
	if len(p.History) > maxHistory {
		p.History = p.History[len(p.History)-maxHistory:]
	}
}
