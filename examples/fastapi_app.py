"""A FastAPI endpoint streaming a typed answer to the browser as Server-Sent Events.

    OPENAI_API_KEY=sk-... uvicorn examples.fastapi_app:app    # GET /weather?q=Lisbon

Each frame's data is a JSONL record (``field``, ``delta``, ``done``, ``end``); a browser
reads it with ``new EventSource("/weather?q=Lisbon")``.  When the browser goes away the
upstream call is closed.
"""

import fastapi
import openai
import pydantic
from fastapi.responses import StreamingResponse

import fieldstream


class Location(pydantic.BaseModel):
    city: str
    temperature: int
    units: str


app = fastapi.FastAPI()
client = openai.AsyncOpenAI()


@app.get("/weather")
async def weather(q: str) -> StreamingResponse:
    answer = fieldstream.astream(client, Location, model="gpt-4o", prompt=f"The weather in {q}")
    return StreamingResponse(fieldstream.to_sse(answer), headers=fieldstream.SSE_HEADERS)
