package download

import (
	"encoding/json"
	"unsafe"
)

func unsafePointer(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
