import anthropic, fieldstream, pydantic


class Character(pydantic.BaseModel):
    name: str
    description: str


class Party(pydantic.BaseModel):
    characters: list[Character]


answer = fieldstream.stream(anthropic.Anthropic(), Party, model="claude-sonnet-4-6", prompt="3 RPG characters")
for event in answer:
    print(event)
print(answer.final)
