"""A loopback HTTP server that serves SkyPilot-format vms.csv files, good and broken, for the
price-update tests (core and window). No test touches the internet."""
import http.server
import threading

import pytest

AWS = ("InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,"
       "AvailabilityZone,Arch\n"
       "p5.48xlarge,H100,8.0,192.0,2048.0,\"{'Gpus': [{'Name': 'H100', 'Count': 8}]}\",50.0,20.0,us-east-1,use1-az1,x86_64\n"
       "p5.48xlarge,H100,8.0,192.0,2048.0,,50.0,18.5,us-east-1,use1-az2,x86_64\n"
       "p5.48xlarge,H100,8.0,192.0,2048.0,,50.0,9.0,us-east-1,use1-atl2-az1,x86_64\n"
       "p5.48xlarge,H100,8.0,192.0,2048.0,,60.0,10.0,us-west-2,usw2-az1,x86_64\n"
       "g6e.2xlarge,L40S,1.0,8.0,64.0,,2.24208,1.0,us-east-1,use1-az1,x86_64\n"
       "m5.large,,,2.0,8.0,,0.096,0.04,us-east-1,use1-az1,x86_64\n")
GCP = ("InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,Region,AvailabilityZone,Price,SpotPrice\n"
       "a3-highgpu-8g,208.0,1872.0,,,,us-east4,us-east4-a,9.0,3.0\n"
       ",,,H100,8.0,,us-east4,us-east4-a,80.0,30.0\n"
       ",,,H100,8.0,,us-central1,us-central1-a,33.6,20.0\n"
       "a2-ultragpu-8g,96.0,1360.0,,,,us-central1,us-central1-a,8.0,4.0\n"
       ",,,A100-80GB,8.0,,us-central1,us-central1-a,10.0,15.0\n")
AZURE = ("InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,Generation\n"
         "Standard_ND96isr_H100_v5,H100,12,96,1900,,98.32,98.32,eastus,V2\n")
LAMBDA = ("InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region\n"
          "gpu_8x_h100_sxm5,H100,8.0,208,1800,,30.0,,us-east-1\n")
GOOD = {"aws": AWS, "gcp": GCP, "azure": AZURE, "lambda": LAMBDA}


class _Handler(http.server.BaseHTTPRequestHandler):
    """/<case>/<cloud>/vms.csv; the case says how the answer goes wrong."""

    def do_GET(self):  # noqa: N802 (the http.server name)
        _, case, cloud, _ = self.path.split("/", 3)
        body = GOOD.get(cloud, "").encode()
        if case == "missing" and cloud == "gcp" or cloud not in GOOD:
            self.send_error(404, "Not Found")
            return
        if case == "malformed" and cloud == "gcp":
            body = b"name,price\nx,1\n"
        if case == "cut" and cloud == "aws":
            body = body[:body.rindex(b",x86_64")]  # the last line ends mid-row
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (100 if case == "short" and cloud == "aws" else 0)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLANNER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"
