FROM busybox
COPY missing.txt /m
COPY secret.env /s
COPY *.md /docs/
RUN echo
