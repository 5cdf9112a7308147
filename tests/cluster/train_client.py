"""A training client run as its own process (test_processes.py kills it with SIGKILL mid-run).

    python train_client.py SCHEDULER BUCKET_URL ENDPOINT CHECKPOINT_URL MAX_STEPS SECONDS_PER_STEP
"""
import sys
import time

import numpy as np


def main(scheduler, bucket, endpoint, checkpoint, max_steps, pause):
    import distributed

    from chunkflow.ml import Adam, minimize
    from tests.cluster.conftest import D, logistic, read_dataset

    options = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
    with distributed.Client(scheduler):
        X, y = read_dataset(bucket, options)
        minimize(logistic, np.zeros(D), X, y, optimizer=Adam(lr=0.1), max_steps=int(max_steps),
                 checkpoint=checkpoint, checkpoint_every=2, storage_options=options,
                 callback=lambda step, loss, params: time.sleep(float(pause)))
    print("finished")


if __name__ == "__main__":
    main(*sys.argv[1:])
