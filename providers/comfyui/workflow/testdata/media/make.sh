#!/bin/sh
# Regenerates the minimal real media files that TestInspectRealFiles reads:
# each is what an encoder (ffmpeg 5.1, Debian 12: apt-get install ffmpeg)
# writes, in the formats ComfyUI's save nodes produce. Run from this folder.
set -eu
v="-f lavfi -i testsrc=size=16x16:rate=8:duration=0.625" # 5 frames
a="-f lavfi -i sine=frequency=440:sample_rate=8000:duration=0.1"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
ff $v -frames:v 1 still.png
ff $v -frames:v 1 still.jpg
ff $v -frames:v 1 -c:v libwebp still.webp
ff $v -c:v libwebp_anim -loop 0 animated.webp
ff $v -frames:v 1 still.gif
ff $v -loop 0 animated.gif
ff $v -plays 0 -f apng animated.png
ff $v -c:v libx264 -pix_fmt yuv420p -preset ultrafast video.mp4
ff $v -c:v libx264 -pix_fmt yuv420p -preset ultrafast video.mov
ff $v -c:v libx264 -pix_fmt yuv420p -preset ultrafast -movflags +faststart faststart.mp4
ff $v -c:v libvpx-vp9 -b:v 20k video.webm
ff $v -c:v libvpx-vp9 -b:v 20k -f webm - >piped.webm # Segment of unknown size
ff $v -f lavfi -i sine=frequency=440:sample_rate=8000:duration=0.625 -c:v libvpx -b:v 20k -c:a libvorbis av.webm
ff $v -c:v libx264 -pix_fmt yuv420p -preset ultrafast video.mkv
ff $a -c:a pcm_s16le sound.wav
ff $a -c:a flac sound.flac
ff $a -c:a libmp3lame sound.mp3
ff $a -c:a libvorbis sound.ogg
ff $a -c:a aac sound.m4a
