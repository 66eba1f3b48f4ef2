# Locust FastHttpUser twin of bench/get.c: GET / with no think time.
from locust import FastHttpUser, constant, task


class Getter(FastHttpUser):
    wait_time = constant(0)

    @task
    def get_index(self):
        self.client.get("/")
