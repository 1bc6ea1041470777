//go:build !cgo

package gpu

import "errors"

// errNoCGO is the "no driver" case of a binary that cannot load NVML at all.
var errNoCGO = errors.New("sdform was built without cgo: NVML is unavailable")

// noCGO is the driver of a binary built with CGO_ENABLED=0.
type noCGO struct{}

func newDriver() driver { return noCGO{} }

func (noCGO) init() error          { return errNoCGO }
func (noCGO) read() (*Host, error) { return nil, errNoCGO }
func (noCGO) shutdown() error      { return nil }
