# Locust HttpUser (requests) twin of bench/get.c: GET / with no think time.
from locust import HttpUser, constant, task


class Getter(HttpUser):
    wait_time = constant(0)

    @task
    def get_index(self):
        self.client.get("/")
