from busybox
RUN echo hi
RUN echo there
