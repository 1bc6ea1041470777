// Package flashattn holds the flash-attn example: a docker_image that
// tries flash-attn and falls back to SDPA attention when that build fails,
// and a docker_image_test that records which backend the image has. Its
// test applies the example against real builders.
package flashattn
