FROM busybox
RUN echo hi
CMD echo hi
