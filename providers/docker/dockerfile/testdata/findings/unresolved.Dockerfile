FROM busybox
RUN echo hi
FROM example.com/nope/nope:1
RUN echo
