"""Credentials in command lines, connection strings, mappings and prose are redacted.

Every form is a ``(text, secret)`` pair: through ``lakeloop.redact.redact_text`` exactly the
secret is replaced by one ``[REDACTED:<kind>]`` marker and the rest of the text is kept
(``LISTED``: the forms a security review found stored in clear; ``VARIANTS``: other tools,
quoting, ``=`` or a blank, environment prefixes, mixed case, JSON in JSON). ``NEAR_MISSES`` are
left exactly as they are: placeholders, ports and other programs' ``-p``, code, and prose about a
password rather than holding one. Then the forms go through the real capture path (``hooks/run``,
the drainer, the embedded store) in a prompt, a Bash command, its output and a final answer, and no
secret is in the stored rows. The secrets are made up for these tests.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.support.capture import capture, decoded_strings, stored_messages
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until

_DOCKER_AUTH = base64.b64encode(b"bob:D0ckerCfgPw77").decode()
_DOCKERCONFIGJSON = base64.b64encode(
    json.dumps({"auths": {"reg.example.com": {"auth": _DOCKER_AUTH}}}).encode()
).decode()

#: The forms found stored in clear: (text, secret).
LISTED = [
    ("docker login -u bob -p D0ckerHubPw!2024zz", "D0ckerHubPw!2024zz"),
    ("docker login -u bob --password D0ckerHubPw2024zz registry.example.com", "D0ckerHubPw2024zz"),
    ("curl -u admin:CurlS3cretPw99 https://api.example.com/v1/items", "CurlS3cretPw99"),
    ("curl --user admin:CurlUs3rPw42 https://api.example.com/v1/items", "CurlUs3rPw42"),
    ("mysql -uroot -pMyS9lRootPw88", "MyS9lRootPw88"),
    ("PGPASSWORD=Tr0ub4dorPG3 psql -h db.internal -U app prod", "Tr0ub4dorPG3"),
    ("MYSQL_PWD=MyS9lEnvPw55 mysql -uroot app", "MyS9lEnvPw55"),
    ("REDISCLI_AUTH=Red1sEnvAuth77 redis-cli -h cache ping", "Red1sEnvAuth77"),
    ("DBPASS=DbPassFus3d99 ./migrate.sh", "DbPassFus3d99"),
    ("db:\n  user: app\n  password: Summer2024Prod\n", "Summer2024Prod"),
    ("api_key=a9f3c2e1b7d84f6a9c0e2b4d6f8a1c3e", "a9f3c2e1b7d84f6a9c0e2b4d6f8a1c3e"),
    ('psql "host=db user=app password=C0nnInfoPw_31 dbname=prod"', "C0nnInfoPw_31"),
    ("kubectl create secret generic db --from-literal=password=KubeLit3ralPw", "KubeLit3ralPw"),
    (f"data:\n  .dockerconfigjson: {_DOCKERCONFIGJSON}\n", _DOCKERCONFIGJSON),
    (json.dumps({"auths": {"reg.example.com": {"auth": _DOCKER_AUTH}}}), _DOCKER_AUTH),
    ("DATABASES = {'default': {'USER': 'app', 'PASSWORD': 'DjSecretPw2024'}}", "DjSecretPw2024"),
    ("db.internal:5432:prod:app:PgPassF1le-Secret55", "PgPassF1le-Secret55"),
    ("redis-cli -a Red1sPassw0rdQQ -h cache ping", "Red1sPassw0rdQQ"),
    ("sshpass -p 'SshP4ssword77' ssh deploy@web1", "SshP4ssword77"),
    ("htpasswd -b -c .htpasswd admin HtpassPlain99Q", "HtpassPlain99Q"),
    ("my password is hunter2-Xy9!", "hunter2-Xy9!"),
    ("use the db password Pg5ecr3tPw-77x for prod", "Pg5ecr3tPw-77x"),
    ("the aws secret is wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8kP3mT2v", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8kP3mT2v"),
]

#: Other spellings a user types: other tools, quoting, = or a blank, env prefixes, mixed case.
VARIANTS = [
    # registries and cloud logins
    ("docker login --username bob --password=D0ckerEqPw77 ghcr.io", "D0ckerEqPw77"),
    ("podman login -u bob -p 'P0dmanPw!77' quay.io", "P0dmanPw!77"),
    ("helm registry login reg.example.com -u bob -p HelmReg1stryPw", "HelmReg1stryPw"),
    ("az login --service-principal -u app-id -p AzSpS3cret99x --tenant t1", "AzSpS3cret99x"),
    ("oc login -u kubeadmin -p OcL0ginPw-88 https://api.ocp.example.com:6443", "OcL0ginPw-88"),
    ("echo 'D0ckerStdinPw88' | docker login -u bob --password-stdin", "D0ckerStdinPw88"),
    ('echo "SudoPassw0rd!x" | sudo -S apt-get update', "SudoPassw0rd!x"),
    ("echo 'bob:ChpasswdPw99' | chpasswd", "ChpasswdPw99"),
    ("skopeo copy --src-creds bob:Sk0peoPw77 docker://a docker://b", "Sk0peoPw77"),
    # HTTP clients
    ("curl -uadmin:CurlFus3dPw77 https://x.example.com", "CurlFus3dPw77"),
    ("curl --user=admin:CurlEqPw123x https://x.example.com", "CurlEqPw123x"),
    ('curl -s -u "admin:CurlQu0tedPw!" https://x.example.com', "CurlQu0tedPw!"),
    ("curl --proxy-user proxy:Pr0xyUserPw https://x.example.com", "Pr0xyUserPw"),
    ("http -a bob:H7tpiePassw0rd https://x.example.com", "H7tpiePassw0rd"),
    ("wget --http-password=WgetHttpPw55 https://x.example.com/f", "WgetHttpPw55"),
    ("wget --ftp-password WgetFtpPw66 ftp://x.example.com/f", "WgetFtpPw66"),
    # databases
    ('mysql -h db -P 3306 -u root -p"MyS9lQuotedPw" app', "MyS9lQuotedPw"),
    ("mysql --user=root --password=MyS9lLongPw77 app", "MyS9lLongPw77"),
    ("mysqldump -uroot -p'MyDumpPw#42' app > dump.sql", "MyDumpPw#42"),
    ("mariadb -uroot -pMariaPw2024x", "MariaPw2024x"),
    ("mysqladmin -u root password 'NewR00tPw!x'", "NewR00tPw!x"),
    ('env PGPASSWORD="Tr0ub4dorQuoted" pg_dump -h db app', "Tr0ub4dorQuoted"),
    ("export PGPASSWORD=Tr0ub4dorExport", "Tr0ub4dorExport"),
    ('$env:PGPASSWORD = "PowerSh3llPw"', "PowerSh3llPw"),
    ("SSHPASS=SshEnvPw55x sshpass -e ssh bob@host", "SshEnvPw55x"),
    ('redis-cli -h cache -a "Red1sQuotedPw" ping', "Red1sQuotedPw"),
    ("redis-cli --pass Red1sLongPw88 ping", "Red1sLongPw88"),
    ("mongosh --username admin --password M0ngoLongPw --authenticationDatabase admin", "M0ngoLongPw"),
    ("mongo -u admin -p M0ngoShortPw appdb", "M0ngoShortPw"),
    ("sqlcmd -S db -U sa -P 'Sq1CmdPw!2024' -Q 'select 1'", "Sq1CmdPw!2024"),
    ("ldapsearch -x -D cn=admin,dc=example,dc=com -w LdapB1ndPw99 -b dc=example,dc=com", "LdapB1ndPw99"),
    ("Server=db;Database=app;User Id=sa;Password=0dbcPassw0rd;", "0dbcPassw0rd"),
    ("Driver={ODBC Driver 18};Server=db;Uid=sa;Pwd={Br4ced;Pw};", "Br4ced;Pw"),
    ("psql \"host=db user=app password='C0nn Info Quoted' dbname=prod\"", "C0nn Info Quoted"),
    ("jdbc:postgresql://db/app?user=app&password=JdbcQu3ryPw&ssl=true", "JdbcQu3ryPw"),
    ("*:*:*:app:PgPassWild77", "PgPassWild77"),
    ('echo "localhost:5432:*:postgres:PgPassEcho99" >> ~/.pgpass', "PgPassEcho99"),
    # other tools
    ("sshpass -pSshFus3dPw ssh bob@host", "SshFus3dPw"),
    ("htpasswd -nb admin HtpassN0Batch", "HtpassN0Batch"),
    ("htpasswd -bB -C 12 .htpasswd admin HtpassBcrypt77", "HtpassBcrypt77"),
    ("openssl pkcs12 -export -in c.pem -passout pass:P12ExportPw77 -out c.p12", "P12ExportPw77"),
    ("7z a -pSevenZ1pPw archive.7z dir", "SevenZ1pPw"),
    ("zip -P Z1pPassw0rd secret.zip notes.txt", "Z1pPassw0rd"),
    ("smbclient //srv/share -U bob%SmbPassw0rd9", "SmbPassw0rd9"),
    ("mount -t cifs //srv/share /mnt -o username=bob,password=CifsMountPw9", "CifsMountPw9"),
    ("rabbitmqctl add_user bob RabbitPw2024x", "RabbitPw2024x"),
    ("vault login s.VaultT0kenAbc123", "s.VaultT0kenAbc123"),
    ("gh secret set DB_PASSWORD --body GhS3cretBody77", "GhS3cretBody77"),
    ('docker login -u bob --password-stdin <<< "HereStr1ngPw"', "HereStr1ngPw"),
    ("sqlplus scott/Tig3rOraPw@orcl", "Tig3rOraPw"),
    ('$pw = ConvertTo-SecureString "PsSecur3Pw!" -AsPlainText -Force', "PsSecur3Pw!"),
    ("Invoke-Sqlcmd -ServerInstance db -Username sa -Password 'InvSq1Pw!'", "InvSq1Pw!"),
    ("lftp -u bob,LftpPassw0rd ftp.example.com", "LftpPassw0rd"),
    ("ssh-keygen -t ed25519 -N 'KeyPassphr4se' -f key", "KeyPassphr4se"),
    ("gpg --batch --passphrase GpgPassphr4se -d f.gpg", "GpgPassphr4se"),
    ("keytool -genkey -alias a -keystore k.jks -storepass St0rePass99", "St0rePass99"),
    ("machine api.example.com login bob password N3trcPw99", "N3trcPw99"),
    ("//registry.npmjs.org/:_authToken=NpmRcT0ken99", "NpmRcT0ken99"),
    ("docker login registry.example.com \\\n  -u bob \\\n  -p C0ntinuedPw99\n", "C0ntinuedPw99"),
    ("CREATE USER 'app'@'%' IDENTIFIED BY 'MyS9lCreateUs3r';", "MyS9lCreateUs3r"),
    ("ALTER USER app IDENTIFIED WITH mysql_native_password BY 'MyS9lAlterPw';", "MyS9lAlterPw"),
    ("CREATE ROLE app WITH LOGIN PASSWORD 'PgRol3Passw0rd';", "PgRol3Passw0rd"),
    # settings commands and option literals
    ("terraform apply -var 'db_password=TfVarPw99'", "TfVarPw99"),
    ("spring.datasource.password=Pr0pFilePw99", "Pr0pFilePw99"),
    ('env:\n  - name: DB_PASSWORD\n    value: "K8sEnvPw99"\n  - name: MODE\n    value: prod\n', "K8sEnvPw99"),
    ("- name: API_TOKEN\n  value: K8sBareT0ken99\n", "K8sBareT0ken99"),
    ('{"name": "DB_PASSWORD", "value": "EcsTaskPw99"}', "EcsTaskPw99"),
    ("kubectl create secret generic db --from-literal=DB_PASSWORD=KubeUpperPw77", "KubeUpperPw77"),
    ("kubectl create secret generic db --from-literal password=KubeSpacePw77", "KubeSpacePw77"),
    ("kubectl create secret docker-registry r --docker-username=bob --docker-password=KubeDockerPw1", "KubeDockerPw1"),
    ("docker run -e POSTGRES_PASSWORD=PgDock3rPw -p 5432:5432 postgres", "PgDock3rPw"),
    ("helm install app ./chart --set auth.rootPassword=HelmS3tPw99", "HelmS3tPw99"),
    ("git config --global user.password GitCfgPw123x", "GitCfgPw123x"),
    (
        "aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8kP3mT2x",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8kP3mT2x",
    ),
    ("npm config set //registry.npmjs.org/:_authToken NpmT0kenValue99", "NpmT0kenValue99"),
    ("set -x OPENAI_API_KEY FishSetKey12345", "FishSetKey12345"),
    ("setenv DB_PASSWORD CshSetenvPw99", "CshSetenvPw99"),
    # mappings, YAML, JSON in JSON, mixed case
    ("{\"PASSWORD\": 'MixedQuotePw77'}", "MixedQuotePw77"),
    ("config = {'db_password': 'DjSnakePw2024'}", "DjSnakePw2024"),
    ("$db = ['password' => 'PhpArr0wPw'];", "PhpArr0wPw"),
    ("const cfg = {user: 'bob', password: 'JsObjPw2024'};", "JsObjPw2024"),
    ('db:\n  password: "Summer2024Quoted"\n', "Summer2024Quoted"),
    ("users:\n  - password: Summer2024List\n", "Summer2024List"),
    ("PassWord: Summer2024Mixed\n", "Summer2024Mixed"),
    ("dbPassword=Pr0dCamelPw", "Pr0dCamelPw"),
    ("DB_PASSWORD: 'UpperYamlPw1'\n", "UpperYamlPw1"),
    (json.dumps({"env": json.dumps({"PASSWORD": "JsonInJs0nPw"})}), "JsonInJs0nPw"),
    ('{"credHelpers": {}, "identitytoken": "IdT0kenValue1234"}', "IdT0kenValue1234"),
    # prose
    ("Password: Hunter2Prose77", "Hunter2Prose77"),
    ("the password for the prod db is Pr0dDbPw-2024", "Pr0dDbPw-2024"),
    ("please set the admin password to Adm1nPw-Set9 before launch", "Adm1nPw-Set9"),
    ("the new passphrase was Corr3ct-Horse-77", "Corr3ct-Horse-77"),
    ("PW: PwColon2024x", "PwColon2024x"),
    ("use Pg5ecr3tPw-88y as the db password", "Pg5ecr3tPw-88y"),
    ("Summer2024Reverse is my password", "Summer2024Reverse"),
    ("the api token is tok9f8e7d6c5b4a", "tok9f8e7d6c5b4a"),
    ("our deploy key is DepK3y-2024-xx, keep it safe", "DepK3y-2024-xx"),
    ("The password is `Backt1ckPw!`", "Backt1ckPw!"),
    ("My Password Is 'Qu0tedPr0se'", "Qu0tedPr0se"),
    ("login: bob / password = Eq5ignPw-99", "Eq5ignPw-99"),
]

#: Text that is not a credential: left exactly as it is.
NEAR_MISSES = [
    # -p and -a of programs where they are not a password
    "mysql -u root -p",
    "mysql -u root -p appdb",
    "mysql -h db -P 3306 -u root -p",
    "docker run -p 8080:80 nginx",
    "docker run -d -p 127.0.0.1:5432:5432 postgres:16",
    "podman run -p 8443:443 registry.example.com/app:1.2",
    "ssh -p 2222 deploy@web1",
    "scp -P 2222 f web1:/tmp",
    "git log -p -3",
    "mkdir -p /tmp/a/b/c",
    "cp -p a.txt b.txt",
    "pytest -p no:cacheprovider -q",
    "redis-cli -p 6380 ping",
    "psql -p 5432 -U app prod",
    "nc -p 1234 host 80",
    "sort -u names.txt",
    "git push -u origin main",
    "ps -u root",
    "curl -u bob https://x.example.com",
    "ssh -a bob@host",
    "helm install app ./chart -p values2.yaml",
    "docker login -u bob --password-stdin < pw.txt",
    "sshpass -f ~/.pw ssh host",
    "sshpass -e ssh host",
    "htpasswd -c .htpasswd admin",
    "htpasswd -B .htpasswd admin",
    "openssl enc -aes-256-cbc -pass env:PW -in f -out f.enc",
    "mongod --port 27017",
    "unzip -l a.zip",
    "7z x a.7z -o/tmp/out",
    "echo hello | docker login -u bob",
    "cat pw.txt | docker login -u bob --password-stdin",
    # placeholders
    "password: <password>",
    "PGPASSWORD=$PGPASSWORD psql -h db",
    "PGPASSWORD=${DB_PASS} psql",
    "--password ***",
    "password=changeme",
    "api_key=example",
    "password: your-password",
    "token: xxxxxxxx",
    "--password PASSWORD",
    "--token TOKEN",
    "mysql -p$MYSQL_PWD app",
    "curl -u admin:$TOKEN https://x.example.com",
    'curl -u "$USER:$PASS" https://x.example.com',
    "docker login -u bob -p $DOCKER_PASSWORD",
    'redis-cli -a "$REDIS_PASSWORD"',
    "{'PASSWORD': os.environ['DB_PASSWORD']}",
    'psql "host=db user=app password=$PGPASS dbname=prod"',
    "sshpass -p '<password>' ssh host",
    "htpasswd -b .htpasswd admin '<password>'",
    "the password is <redacted>",
    "the token is $GITHUB_TOKEN",
    "my password is ********",
    "the password is changeme",
    # code
    "password=password",
    "token: str",
    "def login(user, password):",
    "def connect(host, user, password=None):",
    "conn = connect(host=h, user=u, password=pw)",
    "self.password = password",
    "token = get_token()",
    "api_key = settings.API_KEY",
    'headers = {"token": token}',
    "password_hash = hash_pw(pw)",
    'if not password:\n    raise ValueError("password is required")',
    "PGPASSFILE=/home/app/.pgpass",
    "SSH_AUTH_SOCK=/tmp/ssh-x/agent.1",
    "OLDPWD=/home/app/x1",
    "PWD=/home/app",
    '{"auth": "basic"}',
    "auth_type: basic",
    "use_auth = True",
    "psql --no-password -h db app",
    "ansible-playbook --ask-become-pass site.yml",
    "SERVER_AUTH = '1.3.6.1.5.5.7.3.1'",
    "def exchange(self, peer_public_key: X448PublicKey) -> bytes:",
    "nid_key = self._lib.NID_aes_256_cbc",
    "key=value0",
    "# token = 1*tchar",
    "f(token=new_token2)",
    "token=accessToken2",
    "password = get_password(user2)",
    # prose about a secret
    "the password is stored in the vault",
    "the token is stored in ~/.config/app",
    "the key is missing",
    "password is required",
    "the password is wrong",
    "the token expired at 10:30",
    "the key is 2048-bit",
    "the secret is in /etc/app/secret.env",
    "the token is sent to bob@example.com",
    "the api key is read from API_KEY",
    "your password must be 12 characters",
    "the primary key is user_id2",
    "the token limit is 4096",
    "key: value",
    "use the token from the vault",
    "reset the password for bob",
    "the password reset link expires",
    "the ssh key is id_ed25519.pub",
    "the key is v1.2.3",
    "http://username:password@host.com:80/path",
    "the token budget is 8k",
    "peer_public_key must be X448PublicKey.",
    "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password\n",
    "- name: PASSWORD_MIN_LENGTH\n  value: '12'\n",
    "sqlplus / as sysdba",
    "sqlplus /nolog",
    "ssh-keygen -t ed25519 -N '' -f key",
    "exp 2",
    'echo done <<< "$PW"',
    "LDAP_AUTH=simple",
    "mysql -u root -p app_db2",
    "conn = connect(host=cfg_host, user=cfg_user, password=cfg_pass)",
    "the key is /etc/ssl/private/k3y.pem",
    "the token is https://auth.example.com/t0ken",
    "Summer2024 is the keyboard layout",
    'the messages of commits identified by "fixup" commands',
    "convert a private key to PKCS#8 format",
    "gpg> key C9597E8F28359AE3",
    "--passwd user-id",
    "--private-key=file",
    "--filter='annotations.*key:`*.value`'",
    "--update-secrets=/secrets/api/key=mysecret:1,ENV=b",
    '"pvkPassword": "Private key password 1"',
    "curl --mail-auth user@example.com -T mail smtp://x",
    "gpg --secret-keyring pubring.kbx --passphrase-repeat 2 --export-secret-key-p12 C9597E8F28359AE3",
    "the group password will be empty\\&.",
    "an option such as --db-password VALUE, or --password=PASSWORD: usage",
    "pg_dump --no-password prod_db2",
    "the secret is mysecret:latest=v2x",
    # .pgpass look-alikes
    "2024-01-01 10:30:45:123 INFO started",
    "12:30:00:foo:barbaz",
]


@pytest.fixture
def redact(monkeypatch):
    import lakeloop.redact as module

    monkeypatch.setattr(module, "_built", {"key": None, "scanner": None, "scanners": {}})
    return module.redact_text


def _assert_only_secret_replaced(redact_text, text: str, secret: str) -> None:
    out, kinds = redact_text(text)
    head, _, tail = text.partition(secret)
    assert secret not in out, out
    assert re.fullmatch(re.escape(head) + r"\[REDACTED:[a-z_]+\]" + re.escape(tail), out), (out, kinds)
    assert sum(kinds.values()) == 1, kinds


@pytest.mark.parametrize("text,secret", LISTED, ids=[t[:40] for t, _ in LISTED])
def test_listed_forms_are_redacted(redact, text, secret):
    """Each form found stored in clear: exactly the secret goes, the command or sentence stays."""
    _assert_only_secret_replaced(redact, text, secret)


@pytest.mark.parametrize("text,secret", VARIANTS, ids=[t[:40] for t, _ in VARIANTS])
def test_variants_are_redacted(redact, text, secret):
    """Other tools and spellings of the same credentials: exactly the secret goes."""
    _assert_only_secret_replaced(redact, text, secret)


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_left_alone(redact, text):
    """Ports and other programs' flags, placeholders, code and prose about a password: unchanged."""
    assert redact(text) == (text, {})


@pytest.mark.parametrize("text,secret", LISTED[:6] + VARIANTS[:4], ids=[t[:30] for t, _ in LISTED[:6] + VARIANTS[:4]])
def test_forms_are_redacted_inside_json_text(redact, text, secret):
    """A command inside a stored tool_input is JSON text (quotes as \\", newlines as \\n): the
    secret still goes and the JSON still parses."""
    stored = json.dumps({"command": f"cd /srv && {text}\necho done", "description": "run it"})
    out, kinds = redact(stored)
    assert kinds and secret not in out and json.dumps(secret)[1:-1] not in out
    command = json.loads(out)["command"]
    assert command.startswith("cd /srv && ") and command.endswith("\necho done"), command
    assert json.loads(out)["description"] == "run it"


#: Forms whose secret one rule must find (the kind it reports): a rule that stopped reading them
#: is not hidden by another rule that happens to catch the same value.
BY_RULE = [
    ("kubectl create secret generic db --from-literal=password=KubeLit3ralPw", "assignment"),
    ("kubectl create secret generic db --from-literal=DB_PASSWORD=KubeUpperPw77", "assignment"),
    ("helm install app ./chart --set auth.password=secret99", "assignment"),
    ("mount -t cifs //srv/share /mnt -o username=bob,password=CifsMountPw9", "connection_string"),
    ("docker login -u bob --password D0ckerHubPw2024zz", "assignment"),
    ("docker login -u bob -p D0ckerHubPw!2024zz", "command_line"),
    ('psql "host=db user=app password=C0nnInfoPw_31 dbname=prod"', "connection_string"),
    ("db.internal:5432:prod:app:PgPassF1le-Secret55", "pgpass"),
    ("CREATE USER 'app'@'%' IDENTIFIED BY 'MyS9lCreateUs3r';", "sql_password"),
    ("my password is hunter2-Xy9!", "prose"),
]


@pytest.mark.parametrize("text,kind", BY_RULE, ids=[k + ":" + t[:30] for t, k in BY_RULE])
def test_each_form_is_found_by_its_rule(redact, text, kind):
    """The rule meant for a form finds it (the merged span reports the highest-priority kind)."""
    out, kinds = redact(text)
    assert kinds == {kind: 1}, (out, kinds)


def test_a_password_read_by_its_program_only():
    """The same -p word is a password for sshpass and a port for docker run, in one text."""
    from lakeloop.redact import redact_text

    text = "docker run -p 8080:80 app && sshpass -p Sh4redLine99 ssh host; ssh -p 2222 host"
    assert redact_text(text)[0] == (
        "docker run -p 8080:80 app && sshpass -p [REDACTED:command_line] ssh host; ssh -p 2222 host"
    )


# -- through hooks/run -----------------------------------------------------------------------

ALL_FORMS = LISTED + VARIANTS


def _payloads(field: str) -> tuple[str, dict, str]:
    """A payload holding every form in ``field``, its event, and a sentinel kept in the text."""
    text = "start-of-capture\n" + "\n".join(t for t, _ in ALL_FORMS) + "\nend-of-capture"
    if field == "prompt":
        payload = first_payload("UserPromptSubmit")
        payload["prompt"] = text
        return "UserPromptSubmit", payload, text
    if field in ("bash_command", "bash_output"):
        payload = first_payload("PostToolUse", "Bash")
        payload["tool_input"] = {"command": text if field == "bash_command" else "./setup.sh", "description": "set up"}
        payload["tool_response"] = {
            "stdout": text if field == "bash_output" else "ok",
            "stderr": "",
            "interrupted": False,
        }
        return "PostToolUse", payload, text
    payload = first_payload("Stop")
    payload["last_assistant_message"] = text
    return "Stop", payload, text


@pytest.mark.parametrize("field", ["prompt", "bash_command", "bash_output", "answer"])
def test_no_credential_survives_capture(field):
    """Every form in a prompt, a Bash command, its output or a final answer, through hooks/run and
    the drainer into the embedded store: no secret in the stored row at any JSON depth, the
    commands around them kept, JSON fields still JSON."""
    event, payload, _text = _payloads(field)
    capture(event, payload)
    rows = wait_until(lambda: stored_messages(), 60, "the stored row")
    hay = decoded_strings(rows)
    leaks = [secret for _t, secret in ALL_FORMS if any(secret in h for h in hay)]
    assert not leaks, f"stored in clear: {leaks}"
    joined = "\n".join(hay)
    for kept in (
        "start-of-capture",
        "end-of-capture",
        "docker login -u bob -p [REDACTED:command_line]",
        "mysql -uroot -p[REDACTED:command_line]",
        "my password is [REDACTED:prose]",
        "db.internal:5432:prod:app:[REDACTED:pgpass]",
    ):
        assert kept in joined, kept
    message = json.loads(rows[0])
    for name in ("tool_input", "tool_response"):
        if name in message:
            json.loads(message[name])


def test_hostile_text_costs_linear_time(redact):
    """Text made of the rules' own keywords and options (a hostile tool output) costs time in
    proportion to its length: four times the text, well under sixteen times the time (a rule that
    re-read the rest of the text at each keyword would take that)."""
    import time

    from lakeloop.redact import get_scanner

    scanner = get_scanner()
    units = [
        " -p",
        ":key",
        "the key is ",
        "pwd=",
        "password=",
        "host=a password=",
        "--password ",
        "secret ",
        "mysql -pX ",
        "name: TOKEN\n",
        "h:5432:d:u:pw123456\n",
        '\\n -p\\"',
        "identified by '",
    ]

    def cost(size: int) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            for unit in units:
                scanner.find(unit * (size // len(unit)))
            best = min(best, time.process_time() - started)
        return best

    small, large = cost(10_000), cost(40_000)
    assert large < 8 * small + 0.05, (small, large)
