FROM busybox
RUN echo hi
FORM busybox
