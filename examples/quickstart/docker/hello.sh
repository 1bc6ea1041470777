#!/bin/sh
# Prints the greeting the image was built with (build arg GREETING).
echo "$GREETING"
