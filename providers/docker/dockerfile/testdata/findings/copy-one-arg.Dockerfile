FROM busybox
RUN echo hi
COPY onlyone
